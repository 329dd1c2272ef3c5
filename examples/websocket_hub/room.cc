#include "examples/websocket_hub/room.h"

#include <algorithm>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace troupe::hub {
namespace {

void SetNow(google::protobuf::Timestamp* at) {
  const int64_t nanos = absl::ToUnixNanos(absl::Now());
  at->set_seconds(nanos / 1'000'000'000);
  at->set_nanos(static_cast<int32_t>(nanos % 1'000'000'000));
}

}  // namespace

Room::Room(std::string name, RoomOptions options,
           std::shared_ptr<HubMetrics> metrics, EmptyCallback on_empty)
    : name_(std::move(name)),
      options_(options),
      metrics_(std::move(metrics)),
      on_empty_(std::move(on_empty)) {}

JoinOutcome Room::Handle(JoinRoom m) {
  if (closed_) return JoinOutcome::kRoomClosed;
  const bool taken =
      std::any_of(members_.begin(), members_.end(),
                  [&](const Member& member) { return member.name == m.name; });
  if (taken) {
    metrics_->OnError(error_code::kNameTaken);
    (void)m.outbox->Offer(
        ErrorFrame(m.request_id, error_code::kNameTaken,
                   absl::StrCat("the name '", m.name,
                                "' is already used in room '", name_, "'")));
    return JoinOutcome::kNameTaken;
  }

  ServerFrame frame;
  frame.set_id(m.request_id);
  Joined* joined = frame.mutable_joined();
  joined->set_room(name_);
  for (const Member& member : members_) joined->add_members(member.name);
  for (const FramePtr& old : history_) {
    *joined->add_history() = old->proto().message();
  }
  if (m.outbox->Offer(MakeFrame(std::move(frame))) !=
      Outbox::OfferResult::kQueued) {
    NoteEmpty();
    return JoinOutcome::kDropped;
  }
  metrics_->OnFramesOut(1);
  const uint64_t id = m.outbox->id();
  Broadcast(PresenceFrame(m.name, Presence::JOINED));
  members_.push_back(Member{id, std::move(m.name), std::move(m.outbox)});
  return JoinOutcome::kJoined;
}

void Room::Handle(LeaveRoom m) {
  auto it = std::find_if(members_.begin(), members_.end(),
                         [&](const Member& x) { return x.id == m.member; });
  if (it == members_.end()) return;  // dropped as a slow consumer already
  Member leaving = std::move(*it);
  members_.erase(it);
  if (m.answer) {
    ServerFrame frame;
    frame.set_id(m.request_id);
    frame.mutable_left()->set_room(name_);
    if (leaving.outbox->Offer(MakeFrame(std::move(frame))) ==
        Outbox::OfferResult::kQueued) {
      metrics_->OnFramesOut(1);
    }
  }
  std::vector<Member> gone;
  gone.push_back(std::move(leaving));
  RemoveAndAnnounce(std::move(gone));
}

void Room::Handle(PublishToRoom m) {
  auto it = std::find_if(members_.begin(), members_.end(),
                         [&](const Member& x) { return x.id == m.member; });
  if (it == members_.end()) return;
  ServerFrame frame;
  Message* message = frame.mutable_message();
  message->set_room(name_);
  message->set_seq(next_seq_++);
  message->set_from(it->name);
  message->set_text(std::move(m.text));
  SetNow(message->mutable_sent_at());
  FramePtr shared = MakeFrame(std::move(frame));
  metrics_->OnPublished();
  if (options_.history > 0) {
    if (history_.size() == options_.history) history_.pop_front();
    history_.push_back(shared);
  }
  Broadcast(shared);
}

bool Room::Handle(RetireIfEmpty) {
  if (!members_.empty()) return false;
  closed_ = true;
  Stop();
  return true;
}

RoomSnapshot Room::Handle(GetRoomSnapshot) const {
  RoomSnapshot snapshot;
  for (const Member& member : members_) snapshot.members.push_back(member.name);
  snapshot.next_seq = next_seq_;
  snapshot.history = history_.size();
  snapshot.closed = closed_;
  return snapshot;
}

void Room::OfferToAll(const FramePtr& frame, std::vector<Member>* gone) {
  int64_t queued = 0;
  for (auto it = members_.begin(); it != members_.end();) {
    if (it->outbox->Offer(frame) == Outbox::OfferResult::kQueued) {
      ++queued;
      ++it;
    } else {
      gone->push_back(std::move(*it));
      it = members_.erase(it);
    }
  }
  metrics_->OnFramesOut(queued);
}

void Room::Broadcast(const FramePtr& frame) {
  std::vector<Member> gone;
  OfferToAll(frame, &gone);
  if (!gone.empty()) RemoveAndAnnounce(std::move(gone));
}

void Room::RemoveAndAnnounce(std::vector<Member> gone) {
  // Announcing one departure may overflow another member: a worklist
  // rather than recursion keeps the stack flat in a room of slow members.
  while (!gone.empty()) {
    const Member member = std::move(gone.back());
    gone.pop_back();
    OfferToAll(PresenceFrame(member.name, Presence::LEFT), &gone);
  }
  NoteEmpty();
}

FramePtr Room::PresenceFrame(const std::string& name,
                             Presence::Event event) const {
  ServerFrame frame;
  Presence* presence = frame.mutable_presence();
  presence->set_room(name_);
  presence->set_name(name);
  presence->set_event(event);
  return MakeFrame(std::move(frame));
}

void Room::NoteEmpty() {
  if (members_.empty() && !closed_ && on_empty_) on_empty_(name_, Self().id());
}

}  // namespace troupe::hub
