package nexmark

import (
	"github.com/apache/arrow-go/v18/arrow"
)

// Random word slots of an event, per kind: every field draws from words of
// its own, so its value does not depend on which other columns are read.
const (
	wBidAuctionHot = iota
	wBidAuction
	wBidBidderHot
	wBidBidder
	wBidPrice
	wBidChannelHot
	wBidChannel
	wBidExtraLen
	wBidExtraOff
)

const (
	wAucSellerHot = iota
	wAucSeller
	wAucCategory
	wAucInitial
	wAucReserve
	wAucExpires
	wAucItemLen
	wAucItemOff
	wAucDescLen
	wAucDescOff
	wAucExtraLen
	wAucExtraOff
)

const (
	wPerFirst = iota
	wPerLast
	wPerMailLen
	wPerMailOff
	wPerDomLen
	wPerDomOff
	wPerCity
	wPerState
	wPerExtraLen
	wPerExtraOff
	wPerCard // and the next three
)

// Fixed sizes upstream counts towards an event's size: 8 per number or
// time. A bid counts only its four numbers (not channel and url), as
// upstream does.
const (
	bidFixedSize     = 8 + 8 + 8 + 8
	auctionFixedSize = 8 + 8 + 8 + 8 + 8 + 8
	personFixedSize  = 8
	creditCardLen    = 19
)

// generator fills batches column by column, from the event ids and numbers
// the reader collected. It keeps its scratch slices between batches, so
// steady-state generation does not allocate.
type generator struct {
	cfg      *config
	dts      []arrow.DataType // the Arrow type of each column read
	key      uint64
	text     *texts
	channels *channelTable // nil unless a bid's channel or url is read
	line     timeline

	ids  []int64  // event ids of the batch's rows
	nums []int64  // event numbers of the batch's rows
	st   []uint64 // random states of the batch's rows

	persons  []personRow
	auctions []auctionRow
	arena    []byte // scratch: composed person strings
}

// personRow is a person's text fields (slices of the shared texts or of
// the fixed lists).
type personRow struct {
	first, last, city, state string
	mail, domain, extra      ref // in the words, words and letters texts
	card                     [4]int64
}

// auctionRow is an auction's text fields.
type auctionRow struct {
	item, desc, extra ref // in the words, words and letters texts
}

func resize[T any](s []T, n int) []T {
	if cap(s) < n {
		return make([]T, n)
	}
	return s[:n]
}

// fill adds the columns of the batch's n rows of kind to b.
func (g *generator) fill(b *batch, kind, n int) {
	g.st = resize(g.st, n)
	for j, id := range g.ids[:n] {
		g.st[j] = eventState(g.key, id)
	}
	switch kind {
	case kindBid:
		g.fillBids(b, n)
	case kindAuction:
		g.fillAuctions(b, n)
	default:
		g.fillPersons(b, n)
	}
}

func (g *generator) fillTimes(b *batch, k int) {
	out := b.int64s(g.dts[k])
	for j, num := range g.nums[:b.n] {
		out[j] = g.line.time(num)
	}
}

func (g *generator) fillBids(b *batch, n int) {
	cfg := g.cfg
	for k, sc := range cfg.cols {
		switch sc {
		case bAuction:
			out := b.int64s(g.dts[k])
			for j, st := range g.st {
				e := g.ids[j]
				var a int64
				if below(word(st, wBidAuctionHot), cfg.hotAuc) > 0 {
					a = cfg.lastAuction(e) / hotBlock * hotBlock
				} else {
					a = cfg.inFlightAuction(e, word(st, wBidAuction))
				}
				out[j] = a + firstAuctionID
			}
		case bBidder:
			out := b.int64s(g.dts[k])
			for j, st := range g.st {
				e := g.ids[j]
				var p int64
				if below(word(st, wBidBidderHot), cfg.hotBidder) > 0 {
					// The second person of the block, so that hot bidders
					// and hot sellers differ.
					p = cfg.lastPerson(e)/hotBlock*hotBlock + 1
				} else {
					p = cfg.activePerson(e, word(st, wBidBidder))
				}
				// Upstream (since 2021) adds FIRST_PERSON_ID twice here;
				// we add it once, so bidders are person ids (see doc.go).
				out[j] = p + firstPersonID
			}
		case bPrice:
			out := b.int64s(g.dts[k])
			for j, st := range g.st {
				out[j] = price(word(st, wBidPrice))
			}
		case bChannel:
			vs := b.strings()
			for j, st := range g.st {
				if hot, i := bidChannel(st); hot {
					vs[j] = g.channels.hotName[i]
				} else {
					vs[j] = g.channels.name[i]
				}
			}
			b.addStrings(g.channels.text, vs)
		case bURL:
			vs := b.strings()
			for j, st := range g.st {
				if hot, i := bidChannel(st); hot {
					vs[j] = g.channels.hotURL[i]
				} else {
					vs[j] = g.channels.url[i]
				}
			}
			b.addStrings(g.channels.text, vs)
		case bTime:
			g.fillTimes(b, k)
		case bExtra:
			avg := cfg.avg[kindBid]
			vs := b.strings()
			for j, st := range g.st {
				l := extraLen(bidFixedSize, avg, word(st, wBidExtraLen))
				vs[j] = g.text.exact(l, word(st, wBidExtraOff))
			}
			b.addStrings(g.text.letters, vs)
		}
	}
}

// bidChannel returns a bid's channel: one of the four hot channels (with
// probability 1/2) or one of numChannels others.
func bidChannel(st uint64) (hot bool, i int64) {
	u := word(st, wBidChannel)
	if below(word(st, wBidChannelHot), hotChannelRatio) > 0 {
		return true, below(u, int64(len(hotChannels)))
	}
	return false, below(u, numChannels)
}

func (g *generator) fillAuctions(b *batch, n int) {
	cfg := g.cfg
	needText := false
	for _, sc := range cfg.cols {
		needText = needText || sc == aItem || sc == aDesc || sc == aExtra
	}
	if needText {
		g.auctions = resize(g.auctions, n)
		avg := cfg.avg[kindAuction]
		for j, st := range g.st {
			a := &g.auctions[j]
			a.item = g.text.nextString(20, word(st, wAucItemLen), word(st, wAucItemOff))
			a.desc = g.text.nextString(100, word(st, wAucDescLen), word(st, wAucDescOff))
			cur := int64(auctionFixedSize + a.item.n + a.desc.n)
			a.extra = g.text.exact(extraLen(cur, avg, word(st, wAucExtraLen)), word(st, wAucExtraOff))
		}
	}
	// Events until numInFlight more auctions exist: an auction's expected
	// length is the event time they take.
	ahead := numInFlight * cfg.total / cfg.props[kindAuction]
	for k, sc := range cfg.cols {
		switch sc {
		case aID:
			out := b.int64s(g.dts[k])
			for j, e := range g.ids[:n] {
				out[j] = cfg.lastAuction(e) + firstAuctionID
			}
		case aItem:
			vs := b.strings()
			for j := range vs {
				vs[j] = g.auctions[j].item
			}
			b.addStrings(g.text.words, vs)
		case aDesc:
			vs := b.strings()
			for j := range vs {
				vs[j] = g.auctions[j].desc
			}
			b.addStrings(g.text.words, vs)
		case aInitial:
			out := b.int64s(g.dts[k])
			for j, st := range g.st {
				out[j] = price(word(st, wAucInitial))
			}
		case aReserve:
			out := b.int64s(g.dts[k])
			for j, st := range g.st {
				out[j] = price(word(st, wAucInitial)) + price(word(st, wAucReserve))
			}
		case aTime:
			g.fillTimes(b, k)
		case aExpires:
			out := b.int64s(g.dts[k])
			for j, st := range g.st {
				num := g.nums[j]
				ts := g.line.time(num)
				horizon := g.line.time(num+ahead) - ts
				out[j] = ts + 1 + below(word(st, wAucExpires), max(2*horizon, 1))
			}
		case aSeller:
			out := b.int64s(g.dts[k])
			for j, st := range g.st {
				e := g.ids[j]
				var p int64
				if below(word(st, wAucSellerHot), cfg.hotSeller) > 0 {
					p = cfg.lastPerson(e) / hotBlock * hotBlock
				} else {
					p = cfg.activePerson(e, word(st, wAucSeller))
				}
				out[j] = p + firstPersonID
			}
		case aCategory:
			out := b.int64s(g.dts[k])
			for j, st := range g.st {
				out[j] = firstCategoryID + below(word(st, wAucCategory), numCategories)
			}
		case aExtra:
			vs := b.strings()
			for j := range vs {
				vs[j] = g.auctions[j].extra
			}
			b.addStrings(g.text.letters, vs)
		}
	}
}

func (g *generator) fillPersons(b *batch, n int) {
	cfg := g.cfg
	needText := false
	for _, sc := range cfg.cols {
		needText = needText || (sc != pID && sc != pTime)
	}
	if needText {
		g.persons = resize(g.persons, n)
		avg := cfg.avg[kindPerson]
		for j, st := range g.st {
			p := &g.persons[j]
			p.first = firstNames[below(word(st, wPerFirst), int64(len(firstNames)))]
			p.last = lastNames[below(word(st, wPerLast), int64(len(lastNames)))]
			p.mail = g.text.nextString(7, word(st, wPerMailLen), word(st, wPerMailOff))
			p.domain = g.text.nextString(5, word(st, wPerDomLen), word(st, wPerDomOff))
			for i := range p.card {
				p.card[i] = below(word(st, wPerCard+uint64(i)), 10000)
			}
			p.city = usCities[below(word(st, wPerCity), int64(len(usCities)))]
			p.state = usStates[below(word(st, wPerState), int64(len(usStates)))]
			cur := int64(personFixedSize+len(p.first)+1+len(p.last)+1+4+creditCardLen+len(p.city)+len(p.state)) +
				int64(p.mail.n+p.domain.n)
			p.extra = g.text.exact(extraLen(cur, avg, word(st, wPerExtraLen)), word(st, wPerExtraOff))
		}
	}
	for k, sc := range cfg.cols {
		switch sc {
		case pID:
			out := b.int64s(g.dts[k])
			for j, e := range g.ids[:n] {
				out[j] = cfg.lastPerson(e) + firstPersonID
			}
		case pName, pEmail, pCard, pCity, pState:
			b.addStrings(g.personStrings(b.strings(), sc))
		case pTime:
			g.fillTimes(b, k)
		case pExtra:
			vs := b.strings()
			for j := range vs {
				vs[j] = g.persons[j].extra
			}
			b.addStrings(g.text.letters, vs)
		}
	}
}

// personStrings sets vs to the values of person column sc, composed in
// the generator's arena, and returns the arena.
func (g *generator) personStrings(vs []ref, sc int) ([]byte, []ref) {
	a := g.arena[:0]
	words := g.text.words
	for j := range vs {
		p := &g.persons[j]
		from := len(a)
		switch sc {
		case pName:
			a = append(append(append(a, p.first...), ' '), p.last...)
		case pEmail:
			a = append(append(append(append(a, p.mail.of(words)...), '@'), p.domain.of(words)...), ".com"...)
		case pCard:
			for i, v := range p.card {
				if i > 0 {
					a = append(a, ' ')
				}
				a = append(a, byte('0'+v/1000), byte('0'+v/100%10), byte('0'+v/10%10), byte('0'+v%10))
			}
		case pCity:
			a = append(a, p.city...)
		case pState:
			a = append(a, p.state...)
		}
		vs[j] = ref{int32(from), int32(len(a) - from)}
	}
	g.arena = a
	return a, vs
}
