#include "examples/websocket_hub/directory.h"

#include <string>
#include <utility>

#include "absl/strings/str_cat.h"

namespace troupe::hub {

// Handlers take their message by value (they own it).
// NOLINTNEXTLINE(performance-unnecessary-value-param)
ActorRef<Room> Directory::Handle(ResolveRoom m) {
  auto it = rooms_.find(m.room);
  if (it != rooms_.end()) return it->second;
  // The room reports emptiness through a weak reference: rooms must not
  // keep the directory alive.
  WeakActorRef<Directory> weak(Self());
  Room::EmptyCallback on_empty = [weak](const std::string& room, ActorId id) {
    ActorRef<Directory> directory = weak.Lock();
    if (directory) (void)directory.TrySend(RoomEmpty(room, id));
  };
  SpawnOptions options;
  options.name = absl::StrCat("room:", m.room);
  options.mailbox_capacity = kRoomMailbox;
  ActorRef<Room> room = SpawnChild<Room>(std::move(options), m.room,
                                         room_options_, metrics_, on_empty);
  metrics_->OnRoomCreated();
  rooms_.emplace(std::move(m.room), room);
  return room;
}

Task<void> Directory::Handle(RoomEmpty m) {
  auto it = rooms_.find(m.room);
  if (it == rooms_.end() || it->second.id() != m.id) co_return;
  const ActorRef<Room> room = it->second;
  const absl::StatusOr<bool> retired = co_await room.Ask(RetireIfEmpty{});
  // A room that cannot answer has stopped: forget it too.
  if (retired.ok() && !*retired) co_return;
  // Look again: nothing else ran in this actor meanwhile, but be exact.
  it = rooms_.find(m.room);
  if (it != rooms_.end() && it->second.id() == m.id) {
    rooms_.erase(it);
    metrics_->OnRoomRetired();
  }
}

}  // namespace troupe::hub
