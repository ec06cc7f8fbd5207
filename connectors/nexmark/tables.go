package nexmark

import (
	"strings"

	"github.com/eddy-streaming/eddy/engine/types"
)

// The table names: the value of the 'table' option.
const (
	Person  = "person"
	Auction = "auction"
	Bid     = "bid"
)

// TableNames lists the tables in the order of their event types (0, 1, 2 in
// Flink's wide table).
var TableNames = []string{Person, Auction, Bid}

// Column positions in each table's canonical column list.
const (
	pID = iota
	pName
	pEmail
	pCard
	pCity
	pState
	pTime
	pExtra
)

const (
	aID = iota
	aItem
	aDesc
	aInitial
	aReserve
	aTime
	aExpires
	aSeller
	aCategory
	aExtra
)

const (
	bAuction = iota
	bBidder
	bPrice
	bChannel
	bURL
	bTime
	bExtra
)

// tableColumns lists each table's columns with Flink nexmark's field names
// (the flattened fields of its person, auction and bid ROWs).
var tableColumns = map[string][]types.Field{
	Person: {
		{Name: "id", Type: types.BigIntType},
		{Name: "name", Type: types.StringType},
		{Name: "emailAddress", Type: types.StringType},
		{Name: "creditCard", Type: types.StringType},
		{Name: "city", Type: types.StringType},
		{Name: "state", Type: types.StringType},
		{Name: "dateTime", Type: types.TimestampType},
		{Name: "extra", Type: types.StringType},
	},
	Auction: {
		{Name: "id", Type: types.BigIntType},
		{Name: "itemName", Type: types.StringType},
		{Name: "description", Type: types.StringType},
		{Name: "initialBid", Type: types.BigIntType},
		{Name: "reserve", Type: types.BigIntType},
		{Name: "dateTime", Type: types.TimestampType},
		{Name: "expires", Type: types.TimestampType},
		{Name: "seller", Type: types.BigIntType},
		{Name: "category", Type: types.BigIntType},
		{Name: "extra", Type: types.StringType},
	},
	Bid: {
		{Name: "auction", Type: types.BigIntType},
		{Name: "bidder", Type: types.BigIntType},
		{Name: "price", Type: types.BigIntType},
		{Name: "channel", Type: types.StringType},
		{Name: "url", Type: types.StringType},
		{Name: "dateTime", Type: types.TimestampType},
		{Name: "extra", Type: types.StringType},
	},
}

// Columns returns the columns of table ("person", "auction" or "bid"), in
// their canonical order, or nil for an unknown name.
func Columns(table string) []types.Field {
	return append([]types.Field(nil), tableColumns[table]...)
}

func describeColumns(table string) string {
	fs := tableColumns[table]
	parts := make([]string, len(fs))
	for i, f := range fs {
		parts[i] = f.Name + " " + f.Type.String()
	}
	return strings.Join(parts, ", ")
}

// Upstream's constants (GeneratorConfig, PersonGenerator, AuctionGenerator,
// BidGenerator).
const (
	firstPersonID   = 1000
	firstAuctionID  = 1000
	firstCategoryID = 10
	numCategories   = 5
	personIDLead    = 10 // people ids that may be chosen before they exist
	auctionIDLead   = 10 // the same for auctions
	numActivePeople = 1000
	numInFlight     = 100 // auctions a bid may go to
	hotBlock        = 100 // hot sellers, bidders and auctions are the first (second) of a block of this many
	numChannels     = 10_000
	hotChannelRatio = 2
	minStringLen    = 3
)

var (
	usStates   = []string{"AZ", "CA", "ID", "OR", "WA", "WY"}
	usCities   = []string{"Phoenix", "Los Angeles", "San Francisco", "Boise", "Portland", "Bend", "Redmond", "Seattle", "Kent", "Cheyenne"}
	firstNames = []string{"Peter", "Paul", "Luke", "John", "Saul", "Vicky", "Kate", "Julie", "Sarah", "Deiter", "Walter"}
	lastNames  = []string{"Shultz", "Abrams", "Spencer", "White", "Bartels", "Walton", "Smith", "Jones", "Noris"}
	// hotChannels are the four hot channels; Q21 maps them to ids 0-3.
	hotChannels = []string{"Google", "Facebook", "Baidu", "Apple"}
)
