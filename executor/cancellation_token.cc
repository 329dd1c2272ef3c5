#include "executor/cancellation_token.h"

#include <algorithm>

namespace troupe {

CancellationToken::CancellationToken() : node_(std::make_shared<Node>()) {}

CancellationToken CancellationToken::Child() const {
  auto child = std::make_shared<Node>();
  child->parent = node_;
  std::lock_guard<std::mutex> guard(node_->mu);
  if (node_->cancelled.load(std::memory_order_relaxed)) {
    child->cancelled.store(true, std::memory_order_release);
  } else {
    node_->children.push_back(child.get());
  }
  return CancellationToken(std::move(child));
}

CancellationToken::Node::~Node() {
  if (parent != nullptr) {
    std::lock_guard<std::mutex> guard(parent->mu);
    auto& siblings = parent->children;
    siblings.erase(std::remove(siblings.begin(), siblings.end(), this),
                   siblings.end());
  }
}

void CancellationToken::Cancel() const {
  std::lock_guard<std::mutex> guard(node_->mu);
  CancelNode(node_.get());
}

void CancellationToken::CancelNode(Node* node) {
  if (node->cancelled.load(std::memory_order_relaxed)) return;
  // Release pairs with IsCancelled()'s acquire.
  node->cancelled.store(true, std::memory_order_release);
  // Wake under the lock: a waiter's destructor takes the lock too, so it
  // cannot free the awaiter (or its task) while we use it. Cancellation is
  // rare, so the longer critical section is no cost in practice.
  while (Awaiter* w = node->waiters) {
    node->waiters = w->next_;
    w->linked_ = false;
    TaskRef ref = TaskRef::Clone(w->task_);
    w->fired_.store(true, std::memory_order_release);
    ref.Wake();
  }
  // Lock order is always parent before child; a child's destructor takes
  // only the parent's lock, and waits here until we are done with it.
  for (Node* child : node->children) {
    std::lock_guard<std::mutex> guard(child->mu);
    CancelNode(child);
  }
  node->children.clear();
}

CancellationToken::Awaiter::~Awaiter() { Unregister(); }

void CancellationToken::Awaiter::Unregister() {
  if (task_ == nullptr) return;
  std::lock_guard<std::mutex> guard(node_->mu);
  if (!linked_) return;
  if (prev_ != nullptr) {
    prev_->next_ = next_;
  } else {
    node_->waiters = next_;
  }
  if (next_ != nullptr) next_->prev_ = prev_;
  linked_ = false;
}

bool CancellationToken::Awaiter::await_suspend(std::coroutine_handle<> handle) {
  TaskHeader* self = CurrentTask();
  self->SetResumePoint(handle, this);
  return Register(self);
}

bool CancellationToken::Awaiter::Register(TaskHeader* task) {
  std::lock_guard<std::mutex> guard(node_->mu);
  if (node_->cancelled.load(std::memory_order_relaxed)) return false;
  task_ = task;
  next_ = node_->waiters;
  prev_ = nullptr;
  if (next_ != nullptr) next_->prev_ = this;
  node_->waiters = this;
  linked_ = true;
  return true;
}

}  // namespace troupe
