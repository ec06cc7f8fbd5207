package types

import (
	"fmt"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
)

// Kind is the family of a logical type.
type Kind uint8

// The supported type families.
const (
	// Null is the type of an untyped NULL literal.
	Null Kind = iota
	Boolean
	// Int is a 32-bit signed integer (SQL INT).
	Int
	// BigInt is a 64-bit signed integer (SQL BIGINT).
	BigInt
	// Double is a 64-bit IEEE float (SQL DOUBLE).
	Double
	// Decimal is a fixed-point number with Precision and Scale.
	Decimal
	// String is a UTF-8 string (SQL STRING, or VARCHAR(n) with Length n).
	String
	// Timestamp is a timestamp without time zone with millisecond precision
	// (SQL TIMESTAMP(3)), stored as milliseconds since the epoch.
	Timestamp
	// Interval is a day-time interval in milliseconds. It only appears in
	// expressions (ts - INTERVAL '5' SECOND), never as a column type.
	Interval
)

var kindNames = [...]string{"NULL", "BOOLEAN", "INT", "BIGINT", "DOUBLE", "DECIMAL", "STRING", "TIMESTAMP", "INTERVAL"}

// String returns the SQL name of the kind.
func (k Kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return fmt.Sprintf("Kind(%d)", k)
}

// Type is a logical column type. The zero value is the NULL type.
type Type struct {
	Kind Kind `json:"kind"`
	// Precision is the total number of digits of a DECIMAL, or the
	// fractional-second precision of a TIMESTAMP (always 3 for now).
	Precision int `json:"precision,omitempty"`
	// Scale is the number of fractional digits of a DECIMAL.
	Scale int `json:"scale,omitempty"`
	// Length is n of VARCHAR(n); 0 means unbounded (STRING).
	Length int `json:"length,omitempty"`
	// NotNull marks a type declared NOT NULL.
	NotNull bool `json:"not_null,omitempty"`
	// RowTime marks an event-time attribute: a TIMESTAMP(3) column that
	// carries watermarks (declared by WATERMARK FOR, or window_time after a
	// window). Only the planner reads it; it does not change the data.
	RowTime bool `json:"rowtime,omitempty"`
	// ProcTime marks a processing-time attribute (a PROCTIME() column).
	// Only the planner reads it.
	ProcTime bool `json:"proctime,omitempty"`
	// LocalZone makes a Timestamp a TIMESTAMP_LTZ: an instant, shown in
	// the session time zone. Eddy's session time zone is UTC, so the values
	// and their text are those of TIMESTAMP; the type keeps Flink's name
	// and its rules (TO_TIMESTAMP_LTZ, PROCTIME()).
	LocalZone bool `json:"local_zone,omitempty"`
}

// Convenience constructors for the common types.
var (
	BooleanType   = Type{Kind: Boolean}
	IntType       = Type{Kind: Int}
	BigIntType    = Type{Kind: BigInt}
	DoubleType    = Type{Kind: Double}
	StringType    = Type{Kind: String}
	TimestampType = Type{Kind: Timestamp, Precision: 3}
	IntervalType  = Type{Kind: Interval}
)

// DecimalType returns DECIMAL(p, s).
func DecimalType(p, s int) Type { return Type{Kind: Decimal, Precision: p, Scale: s} }

// Nullable returns t without its NOT NULL constraint.
func (t Type) Nullable() Type { t.NotNull = false; return t }

// Plain returns t without its time-attribute markers (RowTime, ProcTime):
// the type of the values alone.
func (t Type) Plain() Type { t.RowTime, t.ProcTime = false, false; return t }

// SameValues reports whether t and u hold the same values: equal apart from
// NOT NULL and the time-attribute markers.
func (t Type) SameValues(u Type) bool {
	t, u = t.Plain(), u.Plain()
	t.NotNull, u.NotNull = false, false
	return t == u
}

// IsNumeric reports whether t is INT, BIGINT, DOUBLE or DECIMAL.
func (t Type) IsNumeric() bool {
	switch t.Kind {
	case Int, BigInt, Double, Decimal:
		return true
	}
	return false
}

// String renders t as SQL, e.g. "DECIMAL(10, 2)" or "TIMESTAMP(3) NOT NULL".
func (t Type) String() string {
	var s string
	switch t.Kind {
	case Decimal:
		s = fmt.Sprintf("DECIMAL(%d, %d)", t.Precision, t.Scale)
	case String:
		if t.Length > 0 {
			s = fmt.Sprintf("VARCHAR(%d)", t.Length)
		} else {
			s = "STRING"
		}
	case Timestamp:
		if t.LocalZone {
			s = fmt.Sprintf("TIMESTAMP_LTZ(%d)", t.Precision)
		} else {
			s = fmt.Sprintf("TIMESTAMP(%d)", t.Precision)
		}
	default:
		s = t.Kind.String()
	}
	if t.NotNull {
		s += " NOT NULL"
	}
	if t.RowTime {
		s += " *ROWTIME*"
	}
	if t.ProcTime {
		s += " *PROCTIME*"
	}
	return s
}

// Arrow returns the Arrow type that carries values of t.
func (t Type) Arrow() arrow.DataType {
	switch t.Kind {
	case Null:
		return arrow.Null
	case Boolean:
		return arrow.FixedWidthTypes.Boolean
	case Int:
		return arrow.PrimitiveTypes.Int32
	case BigInt:
		return arrow.PrimitiveTypes.Int64
	case Double:
		return arrow.PrimitiveTypes.Float64
	case Decimal:
		return &arrow.Decimal128Type{Precision: int32(t.Precision), Scale: int32(t.Scale)}
	case String:
		return arrow.BinaryTypes.String
	case Timestamp:
		return arrow.FixedWidthTypes.Timestamp_ms
	case Interval:
		return arrow.FixedWidthTypes.Duration_ms
	}
	panic(fmt.Sprintf("types: no Arrow type for kind %d", t.Kind))
}

// Field is a named column.
type Field struct {
	Name string `json:"name"`
	Type Type   `json:"type"`
}

// Schema is an ordered list of columns.
type Schema struct {
	Fields []Field `json:"fields"`
}

// Len returns the number of columns.
func (s Schema) Len() int { return len(s.Fields) }

// Index returns the position of the column named name (case-insensitive), or -1.
func (s Schema) Index(name string) int {
	for i, f := range s.Fields {
		if strings.EqualFold(f.Name, name) {
			return i
		}
	}
	return -1
}

// Arrow returns the Arrow schema of s. Columns are nullable unless NOT NULL.
func (s Schema) Arrow() *arrow.Schema {
	fs := make([]arrow.Field, len(s.Fields))
	for i, f := range s.Fields {
		fs[i] = arrow.Field{Name: f.Name, Type: f.Type.Arrow(), Nullable: !f.Type.NotNull}
	}
	return arrow.NewSchema(fs, nil)
}

// String renders the schema as "(a BIGINT, b STRING)".
func (s Schema) String() string {
	parts := make([]string, len(s.Fields))
	for i, f := range s.Fields {
		parts[i] = f.Name + " " + f.Type.String()
	}
	return "(" + strings.Join(parts, ", ") + ")"
}
