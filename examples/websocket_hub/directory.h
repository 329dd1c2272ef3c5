// Directory: the actor that maps room names to Room actors, creating a
// room on first use and reaping it once it is empty.
//
// Contract:
//   - ResolveRoom (ask -> ActorRef<Room>): the live room of that name,
//     spawned (as a child of the directory, so it stops with it) if there
//     is none.
//   - RoomEmpty (tell, sent by a room through its EmptyCallback): the
//     directory asks that room RetireIfEmpty and, if it retired, forgets
//     it. Reaping goes through the room's own turn, so a join racing with
//     the reaping either lands first (the room stays) or finds the room
//     closed and resolves again - never a member in a forgotten room.
//   - CountRooms (ask -> size_t).
//   - Names are opaque: any byte string the connection actor accepted.
//
// Example:
//   ActorRef<Directory> directory =
//       system.Spawn<Directory>(RoomOptions{.history = 50}, metrics);
//   absl::StatusOr<ActorRef<Room>> room =
//       co_await directory.Ask(ResolveRoom("lobby"));
#ifndef TROUPE_EXAMPLES_WEBSOCKET_HUB_DIRECTORY_H_
#define TROUPE_EXAMPLES_WEBSOCKET_HUB_DIRECTORY_H_

#include <cstddef>
#include <memory>
#include <string>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "actors/actor.h"
#include "examples/websocket_hub/hub_metrics.h"
#include "examples/websocket_hub/room.h"

namespace troupe::hub {

struct ResolveRoom {
  explicit ResolveRoom(std::string r) : room(std::move(r)) {}
  std::string room;
};

struct RoomEmpty {
  RoomEmpty(std::string r, ActorId i) : room(std::move(r)), id(i) {}
  std::string room;
  ActorId id;
};

struct CountRooms {};

class Directory : public Actor<Directory> {
 public:
  // Rooms' mailboxes: a room handles each message quickly and never
  // waits, so this only absorbs bursts.
  static constexpr size_t kRoomMailbox = 4096;

  Directory(RoomOptions room_options, std::shared_ptr<HubMetrics> metrics)
      : room_options_(room_options), metrics_(std::move(metrics)) {}

  // A room whose handler throws keeps its members and its sequence.
  static SupervisorStrategy ChildSupervision() {
    SupervisorStrategy strategy;
    strategy.decider = [](const absl::Status&) { return Directive::kResume; };
    return strategy;
  }

  ActorRef<Room> Handle(ResolveRoom m);
  Task<void> Handle(RoomEmpty m);
  size_t Handle(CountRooms) const { return rooms_.size(); }

 private:
  const RoomOptions room_options_;
  const std::shared_ptr<HubMetrics> metrics_;
  absl::flat_hash_map<std::string, ActorRef<Room>> rooms_;
};

}  // namespace troupe::hub

#endif  // TROUPE_EXAMPLES_WEBSOCKET_HUB_DIRECTORY_H_
