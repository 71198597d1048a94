// Copyright 2026 The FaxSeal Authors. SPDX-License-Identifier: Apache-2.0

// Package billing owns what sending costs: the dialing-zone rate table that prices an outbound
// fax, and (later) top-ups through Stripe. The ledger itself (holds, settlements, refunds) is in
// store, written in the same transaction as the fax and its job.
//
// # Rates
//
// A fax costs its zone's rate times its pages (the partner API's "dialing zone rate x page
// multiplier"): 1 credit a page within North America, more abroad. The zone of a number is found
// by the longest prefix of its E.164 digits that the table lists: country codes, and NANP area
// codes where the +1 plan spans several countries. Every first digit (the ITU world zones) has an
// entry, so a country code the table does not name still gets its region's rate.
//
// Two choices differ from a plain "+1 is domestic" rule, both because a carrier charges them as
// the destinations they are:
//   - The Caribbean countries inside the NANP (+1 242 Bahamas, +1 876 Jamaica, +1 809 Dominican
//     Republic, ...) are international (intl-2), not domestic: carriers charge them international
//     rates, and they are the classic targets of "one-ring" toll fraud. US territories (Puerto Rico,
//     the US Virgin Islands, Guam, the Northern Marianas, American Samoa) stay domestic.
//   - Premium-rate, satellite and international-network codes (+1 900, +870, +881-883, +979 ...)
//     are not served at all (ErrNotServed): a page there costs more than any page price.
//
// Zones of the default table (README.md in this directory has the full prefix list; a test keeps
// both current with the code):
//
//	| zone | credits per page | destinations |
//	|---|---|---|
//	| `nanp` | 1 | North America: United States, Canada and US territories |
//	| `intl-1` | 2 | International 1: Western Europe, Australia, New Zealand, Japan, South Korea, Singapore, Hong Kong, Israel, Mexico |
//	| `intl-2` | 3 | International 2: the rest of Europe, Asia, the Middle East, Latin America and the Caribbean (including NANP countries outside the US and Canada) |
//	| `intl-3` | 5 | International 3: world zone 2 (Africa) and the Pacific islands |
//	| `blocked` | not served | Not served: satellite, international networks, premium rate |
//
// A deployment with other prices builds its own table with NewRateTable.
package billing
