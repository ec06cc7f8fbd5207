package nexmark

import (
	"math"
	"math/bits"
	"strconv"
	"sync"
)

// This file holds upstream's id arithmetic and the random text the string
// fields are cut from.

// Event kinds, in the order of the ids of a block: persons first, then
// auctions, then bids.
const (
	kindPerson = iota
	kindAuction
	kindBid
)

var kindOf = map[string]int{Person: kindPerson, Auction: kindAuction, Bid: kindBid}

// kindRange returns the residues r = id mod total of the events of kind k:
// [lo, hi).
func (c *config) kindRange(k int) (lo, hi int64) {
	switch k {
	case kindPerson:
		return 0, c.props[0]
	case kindAuction:
		return c.props[0], c.props[0] + c.props[1]
	}
	return c.props[0] + c.props[1], c.total
}

// lastPerson is the base-0 index of the last person at or before event e
// (upstream's lastBase0PersonId): the person of e itself if e is a person.
func (c *config) lastPerson(e int64) int64 {
	epoch, off := e/c.total, e%c.total
	if off >= c.props[0] {
		off = c.props[0] - 1
	}
	return epoch*c.props[0] + off
}

// lastAuction is the base-0 index of the last auction at or before event e
// (lastBase0AuctionId): for a person, the last auction of the previous
// block; for a bid, the last auction of its block.
func (c *config) lastAuction(e int64) int64 {
	epoch, off := e/c.total, e%c.total
	switch {
	case off < c.props[0]:
		epoch--
		off = c.props[1] - 1
	case off >= c.props[0]+c.props[1]:
		off = c.props[1] - 1
	default:
		off -= c.props[0]
	}
	return epoch*c.props[1] + off
}

// activePerson picks, with u, one of the last numActivePeople people or
// one of the personIDLead not created yet (nextBase0PersonId).
func (c *config) activePerson(e int64, u uint64) int64 {
	n := c.lastPerson(e) + 1
	active := min(n, numActivePeople)
	return n - active + below(u, active+personIDLead)
}

// inFlightAuction picks, with u, one of the last numInFlight auctions or
// one of the auctionIDLead not created yet (nextBase0AuctionId).
func (c *config) inFlightAuction(e int64, u uint64) int64 {
	last := c.lastAuction(e)
	lo := max(last-numInFlight, 0)
	return lo + below(u, last-lo+1+auctionIDLead)
}

// maxEvents is upstream's event count of an unbounded source: large, but
// small enough that size estimates do not overflow.
func (c *config) maxEvents() int64 {
	if c.events > 0 {
		return c.events
	}
	return math.MaxInt64 / (c.total * max(c.avg[0], c.avg[1], c.avg[2], 1))
}

// extraLen returns the length of 'extra' for an event whose other fields
// take cur bytes, with average size avg (upstream's nextExtra): about
// avg - cur, ±20 %, uniform.
func extraLen(cur, avg int64, u uint64) int64 {
	if cur > avg {
		return 0
	}
	d := avg - cur
	delta := int64(math.Floor(float64(d)*0.2 + 0.5))
	if delta == 0 {
		return d - delta
	}
	return d - delta + below(u, 2*delta)
}

// textLen is the size of each shared random text. Strings are cut from
// its first textWindow bytes (or twice their length, for long ones), so
// that the text a generator reads stays in the CPU's caches.
const (
	textLen    = 1 << 20
	textWindow = 1 << 16
)

// offset returns where a random string of n bytes starts, from word v.
func offset(n int64, v uint64) int64 {
	return below(v, min(textLen, max(textWindow, 2*n))-n+1)
}

// texts are two fixed random texts, built once: words of lowercase letters
// with a space for about one character in 13 (what upstream's nextString
// draws), and letters only (nextExactString, for 'extra'). A random string
// is a slice of one of them at a random offset, so making it costs a copy.
type texts struct {
	words   []byte
	letters []byte
}

var sharedTexts = sync.OnceValue(func() *texts {
	t := &texts{words: make([]byte, textLen), letters: make([]byte, textLen)}
	for i := range t.words {
		u := mix64(0x6E65786D61726B + uint64(i)*gamma) // "nexmark"
		if below(u, 13) == 0 {
			t.words[i] = ' '
		} else {
			t.words[i] = byte('a' + below(u<<8, 26))
		}
		t.letters[i] = byte('a' + below(bits.RotateLeft64(u, 32), 26))
	}
	return t
})

// ref is a string as a span of a text it is cut from. Keeping strings as
// spans keeps the generator's scratch free of pointers.
type ref struct{ off, n int32 }

// of returns the string r in text base.
func (r ref) of(base []byte) []byte { return base[r.off : r.off+r.n] }

// nextString returns a random string of 3 to maxLen-1 characters of the
// words text, trimmed of spaces (upstream's nextString): the length from
// u, the offset from v.
func (t *texts) nextString(maxLen int64, u, v uint64) ref {
	n := minStringLen + below(u, maxLen-minStringLen)
	off := offset(n, v)
	for n > 0 && t.words[off] == ' ' {
		off, n = off+1, n-1
	}
	for n > 0 && t.words[off+n-1] == ' ' {
		n--
	}
	return ref{int32(off), int32(n)}
}

// exact returns n random letters of the letters text, from offset word v.
func (t *texts) exact(n int64, v uint64) ref {
	return ref{int32(offset(n, v)), int32(n)}
}

// channelTable holds the bid channels and their URLs: the four hot
// channels, each with one URL, and numChannels channels "channel-<i>",
// each with its own URL, which for 9 in 10 of them ends in
// "&channel_id=<|reverse(i)|>" (what Q21 extracts). Upstream builds the
// URLs with an unseeded random generator; here they come from the seed.
type channelTable struct {
	text    []byte // the names and URLs, one after the other
	hotName [4]ref
	hotURL  [4]ref
	name    [numChannels]ref
	url     [numChannels]ref
}

func newChannelTable(key uint64) *channelTable {
	// The URLs and names go one after the other into one arena, so that
	// reading them stays in the caches.
	var arena []byte
	n := uint64(0)
	next := func() uint64 { n++; return mix64(key ^ 0xC4A77E15 + n*gamma) }
	baseURL := func() {
		arena = append(arena, "https://www.nexmark.com/"...)
		for s := 0; s < 3; s++ {
			// upstream's nextString(5, '_'): 3 or 4 characters, one in
			// 13 an underscore.
			for l := minStringLen + below(next(), 2); l > 0; l-- {
				u := next()
				if below(u, 13) == 0 {
					arena = append(arena, '_')
				} else {
					arena = append(arena, byte('a'+below(u<<8, 26)))
				}
			}
			arena = append(arena, '/')
		}
		arena = append(arena, "item.htm?query=1"...)
	}
	ct := &channelTable{}
	cut := func(from int) ref { return ref{int32(from), int32(len(arena) - from)} }
	for i := range ct.hotURL {
		from := len(arena)
		arena = append(arena, hotChannels[i]...)
		ct.hotName[i] = cut(from)
		from = len(arena)
		baseURL()
		ct.hotURL[i] = cut(from)
	}
	for i := range ct.url {
		from := len(arena)
		baseURL()
		if below(next(), 10) > 0 {
			arena = append(arena, "&channel_id="...)
			arena = strconv.AppendInt(arena, int64(channelID(i)), 10)
		}
		ct.url[i] = cut(from)
		from = len(arena)
		arena = append(arena, "channel-"...)
		arena = strconv.AppendInt(arena, int64(i), 10)
		ct.name[i] = cut(from)
	}
	ct.text = arena
	return ct
}

// channelID is Java's Math.abs(Integer.reverse(i)): the bits of i reversed
// as a 32-bit int, negated if negative (Integer.MIN_VALUE stays negative).
func channelID(i int) int32 {
	v := int32(bits.Reverse32(uint32(i)))
	if v < 0 {
		v = -v
	}
	return v
}
