#!/usr/bin/env bash
# ParseFlags: help succeeds (exit 0, usage and flags on stdout); a bad flag
# or value fails with a message naming it; normal parsing still works.
set -uo pipefail
demo="$1"
fail() { echo "FAIL: $*" >&2; exit 1; }

for help in --help --helpfull --helpshort; do
  out=$("$demo" "$help" 2>/dev/null); rc=$?
  [ "$rc" -eq 0 ] || fail "$help exited $rc"
  grep -q "Usage: flags_demo" <<<"$out" || fail "$help: no usage message on stdout"
done
out=$("$demo" --help 2>/dev/null)
grep -q -- "--count" <<<"$out" || fail "--help does not list --count"

err=$("$demo" --bogus 2>&1 >/dev/null); rc=$?
[ "$rc" -ne 0 ] || fail "--bogus exited 0"
grep -q "bogus" <<<"$err" || fail "--bogus: error does not name the flag: $err"

err=$("$demo" --count=many 2>&1 >/dev/null); rc=$?
[ "$rc" -ne 0 ] || fail "--count=many exited 0"
grep -q "count" <<<"$err" || fail "--count=many: error does not name the flag: $err"

out=$("$demo" --count=7 a b); rc=$?
[ "$rc" -eq 0 ] || fail "normal run exited $rc"
[ "$out" = "count=7 positional=2" ] || fail "normal run printed '$out'"
echo PASS
