// CellPtr<T>: a counted reference to an actor's cell - CellBase or one of
// its subclasses. The count lives in the cell (CellBase::refs_, 32 bits in
// what was padding), so a reference is one pointer and a cell is one
// allocation with no control block beside it.
//
// Contract:
//   - A cell is made with MakeCell<T>(args...), which returns the first
//     reference. The cell is deleted (through CellBase's virtual
//     destructor) when its last CellPtr goes.
//   - A CellPtr keeps the cell's memory, not the actor: an actor runs
//     until its mailbox has no senders (ActorRef) and it drains, or it is
//     stopped. Holders that must not keep an actor running - a
//     WeakActorRef, a parent's list of children, death-watch lists, the
//     registry - hold a CellPtr and no sender count.
//   - Share(p) takes a new reference on a cell the caller knows is alive
//     (it holds a reference, or is the cell's own runner). TryShare(p)
//     takes one on a cell that may be on its way out (its count may have
//     reached zero, its destructor waiting for a lock the caller holds):
//     null if it is.
//
// Counting: a copy increments the count (relaxed: the copier already holds
// a reference); dropping one decrements it with acq_rel, so the deleting
// thread sees every holder's writes to the cell (as with shared_ptr).
//
// Example:
//   CellPtr<ActorCell<Counter>> cell = MakeCell<ActorCell<Counter>>(...);
//   CellPtr<CellBase> base = cell;  // two references
//   base.reset();                   // one
#ifndef TROUPE_ACTORS_CELL_PTR_H_
#define TROUPE_ACTORS_CELL_PTR_H_

#include <cstddef>
#include <functional>
#include <type_traits>
#include <utility>

namespace troupe {

template <typename T>
class CellPtr {
 public:
  CellPtr() = default;
  CellPtr(std::nullptr_t) {}  // NOLINT(google-explicit-constructor)

  // Adopts a reference the caller already counted.
  static CellPtr Adopt(T* cell) { return CellPtr(cell); }
  // A new reference on a cell known to be alive (or null).
  static CellPtr Share(T* cell) {
    if (cell != nullptr) cell->AddCellRef();
    return CellPtr(cell);
  }
  // A new reference, unless the cell's count already reached zero.
  static CellPtr TryShare(T* cell) {
    return cell != nullptr && cell->TryAddCellRef() ? CellPtr(cell) : CellPtr();
  }

  CellPtr(const CellPtr& other) : cell_(other.cell_) {
    if (cell_ != nullptr) cell_->AddCellRef();
  }
  CellPtr(CellPtr&& other) noexcept : cell_(std::exchange(other.cell_, {})) {}
  // From a reference to a subclass.
  template <typename U>
  requires std::is_convertible_v<U*, T*> CellPtr(
      const CellPtr<U>& other)  // NOLINT(google-explicit-constructor)
      : cell_(other.get()) {
    if (cell_ != nullptr) cell_->AddCellRef();
  }
  template <typename U>
  requires std::is_convertible_v<U*, T*> CellPtr(CellPtr<U>&& other)
  noexcept  // NOLINT(google-explicit-constructor)
      : cell_(other.Release()) {}

  CellPtr& operator=(CellPtr other) noexcept {
    std::swap(cell_, other.cell_);
    return *this;
  }
  ~CellPtr() { reset(); }

  void reset() {
    if (cell_ != nullptr) std::exchange(cell_, nullptr)->DropCellRef();
  }
  // Gives the reference up to the caller (see Adopt).
  T* Release() { return std::exchange(cell_, nullptr); }

  T* get() const { return cell_; }
  T* operator->() const { return cell_; }
  T& operator*() const { return *cell_; }
  explicit operator bool() const { return cell_ != nullptr; }

  template <typename U>
  friend bool operator==(const CellPtr& a, const CellPtr<U>& b) {
    return a.get() == b.get();
  }
  friend bool operator==(const CellPtr& a, std::nullptr_t) {
    return a.cell_ == nullptr;
  }

 private:
  explicit CellPtr(T* cell) : cell_(cell) {}

  T* cell_ = nullptr;
};

// The cell of type T made from `args`, and its first reference.
template <typename T, typename... Args>
CellPtr<T> MakeCell(Args&&... args) {
  return CellPtr<T>::Adopt(new T(std::forward<Args>(args)...));
}

// The same reference, as a subclass the caller knows the cell to be.
template <typename T, typename U>
CellPtr<T> StaticCellCast(CellPtr<U> cell) {
  return CellPtr<T>::Adopt(static_cast<T*>(cell.Release()));
}

}  // namespace troupe

template <typename T>
struct std::hash<troupe::CellPtr<T>> {
  std::size_t operator()(const troupe::CellPtr<T>& p) const noexcept {
    return std::hash<T*>()(p.get());
  }
};

#endif  // TROUPE_ACTORS_CELL_PTR_H_
