package datagen

import (
	"math"
	"strings"

	"github.com/eddy-streaming/eddy/engine/types"
)

// The stream names.
const (
	Gifts       = "gifts"
	Comments    = "comments"
	Likes       = "likes"
	RoomEvents  = "room_events"
	GiftCatalog = "gift_catalog"
)

// streamColumns lists each stream's columns, in their canonical order.
var streamColumns = map[string][]types.Field{
	Gifts: {
		{Name: "room_id", Type: types.BigIntType},
		{Name: "user_id", Type: types.BigIntType},
		{Name: "gift_id", Type: types.IntType},
		{Name: "quantity", Type: types.IntType},
		{Name: "amount", Type: types.BigIntType},
		{Name: "ts", Type: types.TimestampType},
	},
	Comments:   roomStream(types.Field{Name: "content", Type: types.StringType}),
	Likes:      roomStream(types.Field{Name: "count", Type: types.IntType}),
	RoomEvents: roomStream(types.Field{Name: "kind", Type: types.StringType}),
	GiftCatalog: {
		{Name: "gift_id", Type: types.IntType},
		{Name: "name", Type: types.StringType},
		{Name: "price", Type: types.BigIntType},
		{Name: "tier", Type: types.StringType},
	},
}

// roomStream returns the columns of a stream of room events with one
// value column: room_id, user_id, value, ts.
func roomStream(value types.Field) []types.Field {
	return []types.Field{
		{Name: "room_id", Type: types.BigIntType},
		{Name: "user_id", Type: types.BigIntType},
		value,
		{Name: "ts", Type: types.TimestampType},
	}
}

// StreamNames lists the streams, in the order the docs give them.
var StreamNames = []string{Gifts, Comments, Likes, RoomEvents, GiftCatalog}

// StreamColumns returns the columns of stream, or nil for an unknown name.
func StreamColumns(stream string) []types.Field {
	return append([]types.Field(nil), streamColumns[stream]...)
}

func describeColumns(stream string) string {
	fs := streamColumns[stream]
	parts := make([]string, len(fs))
	for i, f := range fs {
		parts[i] = f.Name + " " + f.Type.String()
	}
	return strings.Join(parts, ", ")
}

// Gift is one entry of the gift catalogue.
type Gift struct {
	ID    int32
	Name  string
	Price int64 // cents
	Tier  string
}

// The gift tiers.
var tiers = []struct {
	name   string
	adj    []string
	nouns  []string
	prices []int64
}{
	{"basic",
		[]string{"Little", "Sweet", "Happy", "Shiny", "Lucky", "Tiny", "Sunny", "Cozy"},
		[]string{"Rose", "Heart", "Lollipop", "Star", "Clover", "Cookie", "Balloon", "Donut", "Kiss", "Thumbs Up", "Candy", "Flower", "Coffee", "Panda", "Bubble"},
		[]int64{10, 10, 20, 30, 50, 50, 90, 100, 150, 200, 300, 500, 990}},
	{"premium",
		[]string{"Golden", "Sparkling", "Royal", "Crystal", "Magic"},
		[]string{"Crown", "Guitar", "Microphone", "Rainbow", "Unicorn", "Teddy Bear", "Perfume", "Bouquet", "Fireworks", "Trophy"},
		[]int64{1000, 1500, 2000, 2990, 5000, 6600, 8800, 9900}},
	{"luxury",
		[]string{"Diamond", "Platinum"},
		[]string{"Sports Car", "Yacht", "Private Jet", "Castle", "Island", "Rocket", "Palace", "Helicopter", "Submarine", "Train", "Airship"},
		[]int64{10000, 19900, 29900, 52000, 66600, 88800, 99900}},
	{"legendary",
		[]string{""},
		[]string{"Galaxy", "Dragon", "Phoenix", "Space Station", "Planet", "Universe", "Time Machine", "Lion King"},
		[]int64{200000, 300000, 520000, 888800, 1000000, 1314000, 2999900, 5000000}},
}

// catalog is the fixed gift catalogue: it does not depend on the seed, so
// gifts from any run join with gift_catalog.
var catalog = buildCatalog()

func buildCatalog() []Gift {
	var gs []Gift
	for _, t := range tiers {
		k := 0
		for _, a := range t.adj {
			for _, n := range t.nouns {
				name := n
				if a != "" {
					name = a + " " + n
				}
				// Spread prices over the tier without a pattern that lines
				// up with names.
				p := t.prices[(k*7+len(gs))%len(t.prices)]
				gs = append(gs, Gift{ID: int32(len(gs) + 1), Name: name, Price: p, Tier: t.name})
				k++
			}
		}
	}
	return gs
}

// Catalog returns a copy of the gift catalogue.
func Catalog() []Gift { return append([]Gift(nil), catalog...) }

// giftTable samples gifts by popularity: cheap gifts are sent far more
// often than expensive ones (weight price^-0.75).
var giftTable = func() *aliasTable {
	w := make([]float64, len(catalog))
	for i, g := range catalog {
		w[i] = math.Pow(float64(g.Price), -0.75)
	}
	return newAlias(w)
}()

// Gift quantities: mostly single gifts, some combos with the counts live
// rooms love.
var (
	quantities    = []int32{1, 2, 3, 5, 10, 66, 99, 188, 520, 1314}
	quantityTable = newAlias([]float64{70, 6, 4, 4, 7, 3, 3, 1, 1.5, 0.5})
)

// Like counts: clients batch taps, mostly a few.
var likeTable = func() *aliasTable {
	w := make([]float64, 100)
	for i := range w {
		w[i] = math.Pow(float64(i+1), -1.6)
	}
	return newAlias(w)
}()

// Comment vocabulary: keywords repeat (a Zipf law over words) and some
// comments carry #topics#.
var (
	words = []string{"666", "lol", "gg", "wow", "love", "this", "so", "good", "haha", "nice",
		"hello", "from", "brazil", "who", "else", "is", "here", "first", "time", "omg",
		"cute", "again", "please", "sing", "dance", "play", "more", "best", "stream", "ever",
		"hi", "everyone", "what", "game", "the", "you", "are", "amazing", "thanks", "for",
		"gift", "welcome", "back", "lets", "go", "yes", "no", "why", "how", "can",
		"we", "win", "today", "tonight", "song", "morning", "funny", "crazy", "legend", "king",
		"queen", "goat", "fire", "music"}
	topics = []string{"#dance#", "#music#", "#gaming#", "#cooking#", "#travel#", "#fitness#", "#fashion#",
		"#pets#", "#comedy#", "#sports#", "#art#", "#tech#", "#study#", "#asmr#", "#makeup#",
		"#football#", "#anime#", "#karaoke#", "#outdoors#", "#news#"}
	wordTable  = newAlias(zipfWeights(len(words), 1.0))
	topicTable = newAlias(zipfWeights(len(topics), 1.2))
)

// Room event kinds.
var (
	kindEnter     = []byte("enter")
	kindLeave     = []byte("leave")
	kindHeartbeat = []byte("heartbeat")
)
