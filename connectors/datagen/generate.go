package datagen

import (
	"github.com/eddy-streaming/eddy/connectors/format"
)

// Random word slots of a row: each column draws from its own word, so a
// column's values do not depend on which other columns are declared.
const (
	wRoom    = 0
	wUser    = 1
	wValue   = 2 // gift, like count
	wQty     = 3
	wDelay   = 4
	wContent = 5 // and up: comment tokens
)

// Second multiplier for two-dimensional hashes (room_events sessions).
const gamma2 = 0xD6E8FEB86659FD93

// generator fills batches column by column. It keeps scratch slices
// between batches, so steady-state generation does not allocate.
type generator struct {
	src *Source
	cfg *config

	st   []uint64 // row states of the batch
	gi   []int32  // gift catalogue index per row
	qi   []int32  // quantity per row
	sess []session
}

// session is the viewer session a room_events row belongs to.
type session struct {
	room, user int64
	kind       []byte
}

// fill appends n rows, first, first+step, ..., to b's columns (without
// committing them).
func (g *generator) fill(b *format.Builder, first, step uint64, n int) {
	if g.cfg.stream == GiftCatalog {
		g.fillCatalog(b, first, step, n)
		return
	}
	g.st = resize(g.st, n)
	key := g.src.key
	for j := range g.st {
		g.st[j] = rowState(key, first+uint64(j)*step)
	}
	switch g.cfg.stream {
	case Gifts:
		g.fillGifts(b, first, step, n)
	case Comments:
		g.fillComments(b, first, step, n)
	case Likes:
		g.fillLikes(b, first, step, n)
	case RoomEvents:
		g.fillRoomEvents(b, first, step, n)
	}
}

func resize[T any](s []T, n int) []T {
	if cap(s) < n {
		return make([]T, n)
	}
	return s[:n]
}

func (g *generator) room(u uint64) int64 {
	if g.src.rooms != nil {
		return int64(g.src.rooms.sample(u)) + 1
	}
	return int64(below(u, uint64(g.cfg.rooms))) + 1
}

func (g *generator) fillRooms(c *format.Column, n int) {
	out := c.ExtendInt64(n)
	if t := g.src.rooms; t != nil {
		for j, st := range g.st {
			out[j] = int64(t.sample(word(st, wRoom))) + 1
		}
		return
	}
	rooms := uint64(g.cfg.rooms)
	for j, st := range g.st {
		out[j] = int64(below(word(st, wRoom), rooms)) + 1
	}
}

func (g *generator) fillUsers(c *format.Column, n int) {
	out := c.ExtendInt64(n)
	users := uint64(g.cfg.users)
	for j, st := range g.st {
		out[j] = int64(below(word(st, wUser), users)) + 1
	}
}

// nominal returns the nominal event time of row i.
func (g *generator) nominal(i uint64) int64 {
	return g.cfg.start + int64(i*1000/uint64(g.cfg.eps))
}

func (g *generator) fillTimes(c *format.Column, first, step uint64, n int) {
	out := c.ExtendInt64(n)
	if g.cfg.maxDelay == 0 {
		for j := range out {
			out[j] = g.nominal(first + uint64(j)*step)
		}
		return
	}
	span := uint64(g.cfg.maxDelay) + 1
	for j, st := range g.st {
		out[j] = g.nominal(first+uint64(j)*step) - int64(below(word(st, wDelay), span))
	}
}

func (g *generator) fillGifts(b *format.Builder, first, step uint64, n int) {
	giftsNeeded := false
	for _, sc := range g.cfg.cols {
		if sc == 2 || sc == 3 || sc == 4 {
			giftsNeeded = true
		}
	}
	if giftsNeeded {
		g.gi, g.qi = resize(g.gi, n), resize(g.qi, n)
		for j, st := range g.st {
			g.gi[j] = giftTable.sample(word(st, wValue))
			g.qi[j] = quantities[quantityTable.sample(word(st, wQty))]
		}
	}
	for k, sc := range g.cfg.cols {
		c := b.Cols[k]
		if g.fillShared(c, sc, first, step, n) {
			continue
		}
		switch sc {
		case 2:
			out := c.ExtendInt32(n)
			ids := g.src.gift
			for j, gi := range g.gi {
				out[j] = ids[gi]
			}
		case 3:
			copy(c.ExtendInt32(n), g.qi)
		case 4:
			out := c.ExtendInt64(n)
			price := g.src.price
			for j, gi := range g.gi {
				out[j] = price[gi] * int64(g.qi[j])
			}
		}
	}
}

func (g *generator) fillLikes(b *format.Builder, first, step uint64, n int) {
	for k, sc := range g.cfg.cols {
		if c := b.Cols[k]; !g.fillShared(c, sc, first, step, n) { // count
			out := c.ExtendInt32(n)
			for j, st := range g.st {
				out[j] = likeTable.sample(word(st, wValue)) + 1
			}
		}
	}
}

func (g *generator) fillComments(b *format.Builder, first, step uint64, n int) {
	for k, sc := range g.cfg.cols {
		if c := b.Cols[k]; !g.fillShared(c, sc, first, step, n) { // content
			for _, st := range g.st {
				c.Data = appendComment(c.Data, st)
				c.EndString()
			}
		}
	}
}

// fillShared fills column c when stream column sc is one of those the
// gifts, likes and comments streams share (room_id, user_id, and ts, the
// last) and reports whether it was.
func (g *generator) fillShared(c *format.Column, sc int, first, step uint64, n int) bool {
	switch sc {
	case 0:
		g.fillRooms(c, n)
	case 1:
		g.fillUsers(c, n)
	case len(streamColumns[g.cfg.stream]) - 1:
		g.fillTimes(c, first, step, n)
	default:
		return false
	}
	return true
}

// appendComment appends a short comment: 1 to 8 words drawn by a Zipf law
// over the vocabulary, a quarter of them with a #topic#, some with a word
// repeated for emphasis ("666 666 666").
func appendComment(dst []byte, st uint64) []byte {
	h := word(st, wContent)
	tokens := 1 + int(h%8)
	topicAt := -1
	if (h>>3)%4 == 0 {
		topicAt = int((h >> 5) % uint64(tokens+1))
	}
	sep := false
	for t := 0; t <= tokens; t++ {
		if t == topicAt {
			if sep {
				dst = append(dst, ' ')
			}
			dst = append(dst, topics[topicTable.sample(word(st, wContent+17+uint64(t)))]...)
			sep = true
		}
		if t == tokens {
			break
		}
		u := word(st, wContent+1+uint64(t))
		w := words[wordTable.sample(u)]
		reps := 1
		if u>>60 == 0 { // 1 in 16: emphasis
			reps = 2 + int(u>>58&1)
		}
		for ; reps > 0; reps-- {
			if sep {
				dst = append(dst, ' ')
			}
			dst = append(dst, w...)
			sep = true
		}
	}
	return dst
}

// fillRoomEvents generates viewer sessions. The rows are spread over
// viewer slots (row i is slot i mod S, heartbeat round i / S): a session
// of a slot begins at a round chosen by a hash of (slot, round) (at least
// every roomEventsMaxRound rounds), its first round is 'enter', its last
// 'leave', the rest 'heartbeat'; its user and room come from a hash of
// (slot, first round). Everything is a function of the row index.
func (g *generator) fillRoomEvents(b *format.Builder, first, step uint64, n int) {
	needSess := false
	for _, sc := range g.cfg.cols {
		if sc <= 2 {
			needSess = true
		}
	}
	if needSess {
		g.sess = resize(g.sess, n)
		for j := range g.sess {
			g.sess[j] = g.session(first + uint64(j)*step)
		}
	}
	for k, sc := range g.cfg.cols {
		c := b.Cols[k]
		switch sc {
		case 0:
			out := c.ExtendInt64(n)
			for j := range out {
				out[j] = g.sess[j].room
			}
		case 1:
			out := c.ExtendInt64(n)
			for j := range out {
				out[j] = g.sess[j].user
			}
		case 2:
			for j := range g.sess {
				c.AppendString(g.sess[j].kind)
			}
		case 3:
			g.fillTimes(c, first, step, n)
		}
	}
}

// slots is the number of concurrent viewer slots: about ten seconds of
// events, so a viewer sends a heartbeat every ten seconds of event time
// (fewer slots when there are fewer users).
func (g *generator) slots() uint64 {
	s := uint64(g.cfg.eps) * 10
	if s > uint64(g.cfg.users) {
		s = uint64(g.cfg.users)
	}
	return max(s, 1)
}

func (g *generator) sessionStart(slot, round uint64) bool {
	if round%roomEventsMaxRound == 0 {
		return true
	}
	return below(mix64(g.src.key^0xA5A5A5A5A5A5A5A5+slot*gamma+round*gamma2), roomEventsMeanRound) == 0
}

func (g *generator) session(i uint64) session {
	s := g.slots()
	slot, round := i%s, i/s
	r0 := round
	for !g.sessionStart(slot, r0) {
		r0--
	}
	h := mix64(g.src.key ^ 0x3C3C3C3C3C3C3C3C + slot*gamma + r0*gamma2)
	ss := session{user: int64(below(h, uint64(g.cfg.users))) + 1, room: g.room(mix64(h)), kind: kindHeartbeat}
	switch {
	case r0 == round:
		ss.kind = kindEnter
	case g.sessionStart(slot, round+1):
		ss.kind = kindLeave
	}
	return ss
}

func (g *generator) fillCatalog(b *format.Builder, first, step uint64, n int) {
	for k, sc := range g.cfg.cols {
		c := b.Cols[k]
		for j := 0; j < n; j++ {
			gift := &catalog[first+uint64(j)*step]
			switch sc {
			case 0:
				c.AppendInt32(gift.ID)
			case 1:
				c.AppendString([]byte(gift.Name))
			case 2:
				c.AppendInt64(gift.Price)
			case 3:
				c.AppendString([]byte(gift.Tier))
			}
		}
	}
}
