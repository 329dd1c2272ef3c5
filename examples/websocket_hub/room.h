// Room: the actor that owns one chat room - its members, its sequence
// counter and its history ring - and fans its messages out.
//
// Contract (each a message; the room handles one at a time, so the order
// in which it handles them is the room's canonical order):
//   - JoinRoom (ask -> JoinOutcome): a name already used in the room is
//     refused (an error frame name_taken to the joiner, kNameTaken).
//     Otherwise the joiner's outbox gets `joined` - the members before it,
//     in join order, and the last --history messages, oldest first - and
//     the other members get presence JOINED. Because the room does both in
//     one turn, and every later message goes through the same outbox, a
//     member sees history and then live messages with no gap and no
//     duplicate at the seam.
//   - PublishToRoom (tell): numbers the message (seq from 1, +1 per
//     message), keeps it in the history ring and offers ONE shared frame
//     to every member, the sender included. A publish from a non-member is
//     ignored (the connection actor answers not_a_member itself).
//   - LeaveRoom (tell): the member goes; it gets `left` if asked to, the
//     others get presence LEFT.
//   - A member whose outbox is full is a slow consumer: it is removed at
//     once (presence LEFT to the others) and its outbox closes it. The
//     room never waits for any member.
//   - When the last member goes, the room calls on_empty(name, its id);
//     the directory then asks it RetireIfEmpty (ask -> bool): true means
//     the room is empty and closed for good (it stops; joins still queued
//     answer kRoomClosed and the joiner asks the directory again).
//
// Example:
//   ActorRef<Room> room = system.Spawn<Room>("lobby", RoomOptions{}, metrics,
//                                            Room::EmptyCallback());
//   JoinOutcome joined = *co_await room.Ask(
//       JoinRoom(outbox, "ada", /*request_id=*/"1"));
//   co_await room.Send(PublishToRoom(outbox->id(), "hello"));
#ifndef TROUPE_EXAMPLES_WEBSOCKET_HUB_ROOM_H_
#define TROUPE_EXAMPLES_WEBSOCKET_HUB_ROOM_H_

#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "actors/actor.h"
#include "examples/websocket_hub/frame.h"
#include "examples/websocket_hub/hub_metrics.h"

namespace troupe::hub {

struct RoomOptions {
  // Messages kept for joiners (0: none).
  size_t history = 50;
};

enum class JoinOutcome : uint8_t {
  kJoined,
  kNameTaken,
  kRoomClosed,  // retired: resolve the room again
  kDropped,     // the joiner's outbox overflowed on the `joined` frame
};

struct JoinRoom {
  JoinRoom(std::shared_ptr<Outbox> o, std::string n, std::string id)
      : outbox(std::move(o)), name(std::move(n)), request_id(std::move(id)) {}
  std::shared_ptr<Outbox> outbox;
  std::string name;
  std::string request_id;
};

struct LeaveRoom {
  LeaveRoom(uint64_t member_id, std::string id, bool send_left)
      : member(member_id), request_id(std::move(id)), answer(send_left) {}
  uint64_t member;
  std::string request_id;
  bool answer;  // send `left` to the member (an explicit leave)
};

struct PublishToRoom {
  PublishToRoom(uint64_t m, std::string t) : member(m), text(std::move(t)) {}
  uint64_t member;
  std::string text;
};

struct RetireIfEmpty {};

// What a test or /metrics may look at.
struct RoomSnapshot {
  std::vector<std::string> members;  // in join order
  uint64_t next_seq = 1;
  size_t history = 0;
  bool closed = false;
};
struct GetRoomSnapshot {};

class Room : public Actor<Room> {
 public:
  using EmptyCallback = std::function<void(const std::string& room, ActorId)>;

  Room(std::string name, RoomOptions options,
       std::shared_ptr<HubMetrics> metrics, EmptyCallback on_empty);

  JoinOutcome Handle(JoinRoom m);
  void Handle(LeaveRoom m);
  void Handle(PublishToRoom m);
  bool Handle(RetireIfEmpty);
  RoomSnapshot Handle(GetRoomSnapshot) const;

 private:
  struct Member {
    uint64_t id;
    std::string name;
    std::shared_ptr<Outbox> outbox;
  };

  // Offers `frame` to every member; those whose outbox refuses it (full:
  // a slow consumer, or closed) leave the member list for *gone.
  void OfferToAll(const FramePtr& frame, std::vector<Member>* gone);
  // OfferToAll, then RemoveAndAnnounce for whoever refused.
  void Broadcast(const FramePtr& frame);
  // Removes the members in `gone` and tells the others, repeating while
  // telling them makes more members overflow.
  void RemoveAndAnnounce(std::vector<Member> gone);
  FramePtr PresenceFrame(const std::string& name, Presence::Event event) const;
  void NoteEmpty();

  const std::string name_;
  const RoomOptions options_;
  const std::shared_ptr<HubMetrics> metrics_;
  const EmptyCallback on_empty_;
  std::vector<Member> members_;  // join order; rooms are small
  uint64_t next_seq_ = 1;
  std::deque<FramePtr> history_;  // `message` frames, oldest first
  bool closed_ = false;
};

}  // namespace troupe::hub

#endif  // TROUPE_EXAMPLES_WEBSOCKET_HUB_ROOM_H_
