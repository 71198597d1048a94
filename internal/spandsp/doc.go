//go:build spandsp

// Package spandsp binds Debian's libspandsp 0.0.6 (libspandsp-dev) for tests only: it is the reference
// fax stack used by Asterisk and FreeSWITCH, and FaxSeal's interop peer. Nothing outside _test files and
// test helpers may import it; it is compiled only with the build tag "spandsp", which `make test` sets.
//
// Every binding runs spandsp in virtual time: the caller feeds samples or packets and advances time
// explicitly, so interop tests are deterministic and faster than real time.
//
// Files by area: t38*.go (T.38 terminal), modem*.go (V.21/V.27ter/V.29/V.17 modems), fax*.go
// (audio fax engine fax_state_t).
package spandsp

/*
#cgo pkg-config: spandsp
#include <spandsp.h>
*/
import "C"
