package udf

// Typed helpers: user-defined functions written as plain Go functions of
// Go values. Supported Go types and the SQL types they stand for:
//
//	bool      BOOLEAN
//	int32     INT
//	int64     BIGINT (int too)
//	float64   DOUBLE
//	string    STRING
//	time.Time TIMESTAMP(3) (UTC, millisecond precision)
//	Nullable[T] for any of these: the same type, NULL allowed
//
// A parameter also accepts what SQL casts to its type implicitly: an INT
// for a BIGINT, an INT or BIGINT for a DOUBLE, any VARCHAR for a STRING,
// and an untyped NULL for anything. A call with a NULL argument returns
// NULL without calling the function, unless that parameter is a
// Nullable[T]; a function that returns Nullable[T] may return NULL.
//
// Values are read straight from the Arrow columns and results written to
// Arrow builders: no per-row allocation beyond what the function itself
// does. A constructor given an unsupported Go type returns a function
// whose Check reports it, so Registry.Register refuses it.

import (
	"bytes"
	"context"
	"encoding/gob"
	"fmt"
	"reflect"
	"strings"
	"time"
	"unsafe"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/eddy-streaming/eddy/engine/types"
)

// Nullable is a value that may be NULL, for the parameters and results of
// typed functions that handle NULL themselves.
type Nullable[T any] struct {
	V     T
	Valid bool
}

// Null returns the NULL of T.
func Null[T any]() Nullable[T] { return Nullable[T]{} }

// Value returns a non-NULL v.
func Value[T any](v T) Nullable[T] { return Nullable[T]{V: v, Valid: true} }

func (Nullable[T]) isNullable() {}

type nullableMarker interface{ isNullable() }

// code identifies a supported Go type.
type code uint8

const (
	cBool code = iota + 1
	cInt32
	cInt64
	cInt
	cFloat64
	cString
	cTime
)

// goType is a supported Go type: its code, whether it is a Nullable, and
// its SQL type.
type goType struct {
	code     code
	nullable bool
	sql      types.Type
}

var timeType = reflect.TypeFor[time.Time]()

// typeOf describes rt, or fails naming it.
func typeOf(rt reflect.Type) (goType, error) {
	gt := goType{}
	if rt.Implements(reflect.TypeFor[nullableMarker]()) {
		gt.nullable = true
		f, _ := rt.FieldByName("V")
		rt = f.Type
	}
	switch {
	case rt == timeType:
		gt.code, gt.sql = cTime, types.TimestampType
	case rt.Kind() == reflect.Bool:
		gt.code, gt.sql = cBool, types.BooleanType
	case rt.Kind() == reflect.Int32:
		gt.code, gt.sql = cInt32, types.IntType
	case rt.Kind() == reflect.Int64:
		gt.code, gt.sql = cInt64, types.BigIntType
	case rt.Kind() == reflect.Int:
		gt.code, gt.sql = cInt, types.BigIntType
	case rt.Kind() == reflect.Float64:
		gt.code, gt.sql = cFloat64, types.DoubleType
	case rt.Kind() == reflect.String:
		gt.code, gt.sql = cString, types.StringType
	default:
		return gt, fmt.Errorf("Go type %s has no SQL type (use bool, int32, int64, int, float64, string, time.Time or udf.Nullable of one)", rt)
	}
	return gt, nil
}

// typeFor describes T.
func typeFor[T any]() (goType, error) { return typeOf(reflect.TypeFor[T]()) }

// accepts reports whether an argument of SQL type t can be passed to a
// parameter of type gt.
func (gt goType) accepts(t types.Type) bool {
	switch t.Kind {
	case types.Null:
		return true
	case gt.sql.Kind:
		return true
	case types.Int:
		return gt.code == cInt64 || gt.code == cInt || gt.code == cFloat64
	case types.BigInt:
		return gt.code == cFloat64
	}
	return false
}

// checkArgs checks the argument types of a call against the parameters.
func checkArgs(params []goType, args []types.Type) error {
	if len(args) != len(params) {
		return fmt.Errorf("takes %d argument(s), got %d", len(params), len(args))
	}
	for i, p := range params {
		if !p.accepts(args[i]) {
			return fmt.Errorf("argument %d is %s, want %s", i+1, args[i].Plain().Nullable(), p.sql)
		}
	}
	return nil
}

// as reinterprets v as T (T has v's memory layout: checked by typeOf).
func as[T, U any](v U) T { return *(*T)(unsafe.Pointer(&v)) }

// read returns row i of arr as a value of the parameter type T (gt), and
// whether it is valid (not NULL). A Nullable T is always returned, with
// Valid telling.
func read[T any](gt goType, arr arrow.Array, i int) (T, bool) {
	valid := arr.IsValid(i)
	var v T
	if !valid {
		return v, false
	}
	switch gt.code {
	case cBool:
		return wrap[T, bool](gt, arr.(*array.Boolean).Value(i)), true
	case cInt32:
		return wrap[T, int32](gt, arr.(*array.Int32).Value(i)), true
	case cInt64, cInt:
		var x int64
		switch a := arr.(type) {
		case *array.Int64:
			x = a.Value(i)
		case *array.Int32:
			x = int64(a.Value(i))
		}
		if gt.code == cInt {
			return wrap[T, int](gt, int(x)), true
		}
		return wrap[T, int64](gt, x), true
	case cFloat64:
		var x float64
		switch a := arr.(type) {
		case *array.Float64:
			x = a.Value(i)
		case *array.Int64:
			x = float64(a.Value(i))
		case *array.Int32:
			x = float64(a.Value(i))
		}
		return wrap[T, float64](gt, x), true
	case cString:
		return wrap[T, string](gt, arr.(*array.String).Value(i)), true
	case cTime:
		return wrap[T, time.Time](gt, time.UnixMilli(int64(arr.(*array.Timestamp).Value(i))).UTC()), true
	}
	return v, false
}

// wrap returns x as T: x itself, or Nullable{x, true} when gt is nullable.
func wrap[T, U any](gt goType, x U) T {
	if gt.nullable {
		return as[T](Nullable[U]{V: x, Valid: true})
	}
	return as[T](x)
}

// appendValue appends v (of the result type gt) to b.
func appendValue[T any](gt goType, b array.Builder, v T) {
	p := unsafe.Pointer(&v)
	if gt.nullable {
		// Nullable[U] is {V U; Valid bool}: Valid follows V.
		var valid bool
		switch gt.code {
		case cBool:
			valid = (*Nullable[bool])(p).Valid
		case cInt32:
			valid = (*Nullable[int32])(p).Valid
		case cInt64:
			valid = (*Nullable[int64])(p).Valid
		case cInt:
			valid = (*Nullable[int])(p).Valid
		case cFloat64:
			valid = (*Nullable[float64])(p).Valid
		case cString:
			valid = (*Nullable[string])(p).Valid
		case cTime:
			valid = (*Nullable[time.Time])(p).Valid
		}
		if !valid {
			b.AppendNull()
			return
		}
	}
	appendAt(gt.code, b, p)
}

// appendAt appends the value of Go type c at p (the V of a Nullable
// starts at the same address) to b.
func appendAt(c code, b array.Builder, p unsafe.Pointer) {
	switch c {
	case cBool:
		b.(*array.BooleanBuilder).Append(*(*bool)(p))
	case cInt32:
		b.(*array.Int32Builder).Append(*(*int32)(p))
	case cInt64:
		b.(*array.Int64Builder).Append(*(*int64)(p))
	case cInt:
		b.(*array.Int64Builder).Append(int64(*(*int)(p)))
	case cFloat64:
		b.(*array.Float64Builder).Append(*(*float64)(p))
	case cString:
		b.(*array.StringBuilder).Append(*(*string)(p))
	case cTime:
		b.(*array.TimestampBuilder).Append(arrow.Timestamp((*time.Time)(p).UnixMilli()))
	}
}

// scalarFunc is a typed scalar function.
type scalarFunc struct {
	name   string
	params []goType
	result goType
	err    error
	call   func(args []arrow.Array, i int, b array.Builder) // one row, arguments valid or nullable
}

func (f *scalarFunc) Name() string { return f.name }

// Check reports an unsupported Go type in the function's signature.
func (f *scalarFunc) Check() error { return f.err }

func (f *scalarFunc) ResultType(args []types.Type) (types.Type, error) {
	if f.err != nil {
		return types.Type{}, f.err
	}
	if err := checkArgs(f.params, args); err != nil {
		return types.Type{}, err
	}
	return f.result.sql, nil
}

func (f *scalarFunc) Eval(ctx context.Context, args []arrow.Array, n int, mem memory.Allocator) (arrow.Array, error) {
	if f.err != nil {
		return nil, f.err
	}
	if len(args) != len(f.params) {
		return nil, fmt.Errorf("%s: %d argument columns, want %d", f.name, len(args), len(f.params))
	}
	b := array.NewBuilder(mem, f.result.sql.Arrow())
	defer b.Release()
	b.Reserve(n)
rows:
	for i := 0; i < n; i++ {
		for k, p := range f.params {
			if !p.nullable && args[k].IsNull(i) {
				b.AppendNull()
				continue rows
			}
		}
		f.call(args, i, b)
	}
	return b.NewArray(), nil
}

// newScalar describes the signature of a typed scalar function.
func newScalar(name string, params []reflect.Type, result reflect.Type) *scalarFunc {
	f := &scalarFunc{name: name}
	var err error
	for k, p := range params {
		gt, e := typeOf(p)
		if e != nil && err == nil {
			err = fmt.Errorf("udf %s: parameter %d: %w", name, k+1, e)
		}
		f.params = append(f.params, gt)
	}
	if f.result, _ = typeOf(result); err == nil {
		if _, e := typeOf(result); e != nil {
			err = fmt.Errorf("udf %s: result: %w", name, e)
		}
	}
	f.err = err
	return f
}

// ScalarFunc1 makes a scalar function of one argument from fn.
func ScalarFunc1[A, R any](name string, fn func(A) R) Scalar {
	f := newScalar(name, []reflect.Type{reflect.TypeFor[A]()}, reflect.TypeFor[R]())
	pa := f.params[0]
	f.call = func(args []arrow.Array, i int, b array.Builder) {
		a, _ := read[A](pa, args[0], i)
		appendValue(f.result, b, fn(a))
	}
	return f
}

// ScalarFunc2 makes a scalar function of two arguments from fn, e.g.
//
//	udf.ScalarFunc2("count_char", func(s, c string) int64 { return int64(strings.Count(s, c)) })
func ScalarFunc2[A, B, R any](name string, fn func(A, B) R) Scalar {
	f := newScalar(name, []reflect.Type{reflect.TypeFor[A](), reflect.TypeFor[B]()}, reflect.TypeFor[R]())
	pa, pb := f.params[0], f.params[1]
	f.call = func(args []arrow.Array, i int, b array.Builder) {
		a, _ := read[A](pa, args[0], i)
		c, _ := read[B](pb, args[1], i)
		appendValue(f.result, b, fn(a, c))
	}
	return f
}

// ScalarFunc3 makes a scalar function of three arguments from fn.
func ScalarFunc3[A, B, C, R any](name string, fn func(A, B, C) R) Scalar {
	f := newScalar(name, []reflect.Type{reflect.TypeFor[A](), reflect.TypeFor[B](), reflect.TypeFor[C]()}, reflect.TypeFor[R]())
	pa, pb, pc := f.params[0], f.params[1], f.params[2]
	f.call = func(args []arrow.Array, i int, b array.Builder) {
		a, _ := read[A](pa, args[0], i)
		x, _ := read[B](pb, args[1], i)
		y, _ := read[C](pc, args[2], i)
		appendValue(f.result, b, fn(a, x, y))
	}
	return f
}

// Agg1 defines an aggregate of one argument over a state S that starts as
// S's zero value. NULL arguments are skipped (unless A is a Nullable). S
// is saved with encoding/gob, so its fields must be exported.
type Agg1[S, A, R any] struct {
	// Add folds one argument into the state.
	Add func(state *S, a A)
	// Merge folds the state of another group part into state.
	Merge func(state *S, other *S)
	// Result gives the aggregate's value; a Nullable R may be NULL.
	Result func(state *S) R
}

// aggFunc is a typed aggregate function.
type aggFunc[S, A, R any] struct {
	name   string
	def    Agg1[S, A, R]
	param  goType
	result goType
	err    error
}

// AggregateFunc1 makes an aggregate function of one argument.
func AggregateFunc1[S, A, R any](name string, def Agg1[S, A, R]) Aggregate {
	f := &aggFunc[S, A, R]{name: name, def: def}
	var err error
	if f.param, err = typeFor[A](); err != nil {
		f.err = fmt.Errorf("udf %s: parameter 1: %w", name, err)
	} else if f.result, err = typeFor[R](); err != nil {
		f.err = fmt.Errorf("udf %s: result: %w", name, err)
	} else if def.Add == nil || def.Merge == nil || def.Result == nil {
		f.err = fmt.Errorf("udf %s: Add, Merge and Result must all be set", name)
	}
	return f
}

func (f *aggFunc[S, A, R]) Name() string { return f.name }

// Check reports a signature or definition error.
func (f *aggFunc[S, A, R]) Check() error { return f.err }

func (f *aggFunc[S, A, R]) ResultType(args []types.Type) (types.Type, error) {
	if f.err != nil {
		return types.Type{}, f.err
	}
	if err := checkArgs([]goType{f.param}, args); err != nil {
		return types.Type{}, err
	}
	return f.result.sql, nil
}

func (f *aggFunc[S, A, R]) NewAccumulator(args []types.Type) Accumulator {
	return &aggAcc[S, A, R]{f: f}
}

// aggAcc is the state of one group.
type aggAcc[S, A, R any] struct {
	f     *aggFunc[S, A, R]
	state S
}

func (a *aggAcc[S, A, R]) Accumulate(args []arrow.Array, i int) error {
	if len(args) != 1 {
		return fmt.Errorf("%s: %d argument columns, want 1", a.f.name, len(args))
	}
	v, valid := read[A](a.f.param, args[0], i)
	if !valid && !a.f.param.nullable {
		return nil
	}
	if a.f.param.code == cString && valid {
		// The string points into the batch; the state may keep it.
		v = cloneString(a.f.param, v)
	}
	a.f.def.Add(&a.state, v)
	return nil
}

func (a *aggAcc[S, A, R]) Merge(other Accumulator) error {
	o, ok := other.(*aggAcc[S, A, R])
	if !ok {
		return fmt.Errorf("%s: cannot merge a %T", a.f.name, other)
	}
	a.f.def.Merge(&a.state, &o.state)
	return nil
}

func (a *aggAcc[S, A, R]) Result(b array.Builder) error {
	appendValue(a.f.result, b, a.f.def.Result(&a.state))
	return nil
}

func (a *aggAcc[S, A, R]) MarshalBinary() ([]byte, error) {
	var buf bytes.Buffer
	if err := gob.NewEncoder(&buf).Encode(&a.state); err != nil {
		return nil, fmt.Errorf("%s: save state: %w", a.f.name, err)
	}
	return buf.Bytes(), nil
}

func (a *aggAcc[S, A, R]) UnmarshalBinary(data []byte) error {
	var s S
	if err := gob.NewDecoder(bytes.NewReader(data)).Decode(&s); err != nil {
		return fmt.Errorf("%s: restore state: %w", a.f.name, err)
	}
	a.state = s
	return nil
}

// tableFunc is a typed table function.
type tableFunc[A, T any] struct {
	name   string
	fn     func(A) []T
	param  goType
	cols   []tableCol
	schema types.Schema
	err    error
}

// tableCol is one output column: the Go type of a row (or of a field of a
// struct row) and its offset in the row.
type tableCol struct {
	gt  goType
	off uintptr
}

// TableFunc1 makes a table function of one argument: fn returns the rows
// for one input row (it may reuse the slice between calls). A row is a
// value of a supported type (one column) or a struct whose exported fields
// are (one column each, named by the field's `udf:"name"` tag or its
// name). columns, when given, name the columns instead.
func TableFunc1[A, T any](name string, fn func(A) []T, columns ...string) Table {
	f := &tableFunc[A, T]{name: name, fn: fn}
	var err error
	if f.param, err = typeFor[A](); err != nil {
		f.err = fmt.Errorf("udf %s: parameter 1: %w", name, err)
		return f
	}
	rt := reflect.TypeFor[T]()
	var names []string
	if gt, err := typeOf(rt); err == nil {
		f.cols = []tableCol{{gt: gt}}
		names = []string{"f0"}
	} else if rt.Kind() == reflect.Struct {
		for i := 0; i < rt.NumField(); i++ {
			sf := rt.Field(i)
			if !sf.IsExported() {
				continue
			}
			gt, err := typeOf(sf.Type)
			if err != nil {
				f.err = fmt.Errorf("udf %s: field %s: %w", name, sf.Name, err)
				return f
			}
			n := sf.Name
			if tag := sf.Tag.Get("udf"); tag != "" {
				n = tag
			}
			f.cols = append(f.cols, tableCol{gt: gt, off: sf.Offset})
			names = append(names, n)
		}
		if len(f.cols) == 0 {
			f.err = fmt.Errorf("udf %s: row type %s has no exported fields", name, rt)
			return f
		}
	} else {
		f.err = fmt.Errorf("udf %s: row type: %w", name, err)
		return f
	}
	if len(columns) > 0 {
		if len(columns) != len(f.cols) {
			f.err = fmt.Errorf("udf %s: %d column names for %d columns", name, len(columns), len(f.cols))
			return f
		}
		names = columns
	}
	seen := map[string]bool{}
	for i, c := range f.cols {
		if seen[strings.ToLower(names[i])] {
			f.err = fmt.Errorf("udf %s: column %s named twice", name, names[i])
			return f
		}
		seen[strings.ToLower(names[i])] = true
		f.schema.Fields = append(f.schema.Fields, types.Field{Name: names[i], Type: c.gt.sql})
	}
	return f
}

func (f *tableFunc[A, T]) Name() string { return f.name }

// Check reports a signature error.
func (f *tableFunc[A, T]) Check() error { return f.err }

func (f *tableFunc[A, T]) ResultSchema(args []types.Type) (types.Schema, error) {
	if f.err != nil {
		return types.Schema{}, f.err
	}
	if err := checkArgs([]goType{f.param}, args); err != nil {
		return types.Schema{}, err
	}
	return f.schema, nil
}

func (f *tableFunc[A, T]) Eval(ctx context.Context, args []arrow.Array, n int, mem memory.Allocator) (arrow.RecordBatch, []int32, error) {
	if f.err != nil {
		return nil, nil, f.err
	}
	if len(args) != 1 {
		return nil, nil, fmt.Errorf("%s: %d argument columns, want 1", f.name, len(args))
	}
	rb := array.NewRecordBuilder(mem, f.schema.Arrow())
	defer rb.Release()
	var idx []int32
	for i := 0; i < n; i++ {
		a, valid := read[A](f.param, args[0], i)
		if !valid && !f.param.nullable {
			continue
		}
		for _, row := range f.fn(a) {
			p := unsafe.Pointer(&row)
			for k, c := range f.cols {
				fp := unsafe.Add(p, c.off)
				b := rb.Field(k)
				if c.gt.nullable && !nullableValid(c.gt.code, fp) {
					b.AppendNull()
					continue
				}
				appendAt(c.gt.code, b, fp)
			}
			idx = append(idx, int32(i))
		}
	}
	return rb.NewRecordBatch(), idx, nil
}

// nullableValid reads the Valid flag of a Nullable of Go type c at p.
func nullableValid(c code, p unsafe.Pointer) bool {
	switch c {
	case cBool:
		return (*Nullable[bool])(p).Valid
	case cInt32:
		return (*Nullable[int32])(p).Valid
	case cInt64:
		return (*Nullable[int64])(p).Valid
	case cInt:
		return (*Nullable[int])(p).Valid
	case cFloat64:
		return (*Nullable[float64])(p).Valid
	case cString:
		return (*Nullable[string])(p).Valid
	case cTime:
		return (*Nullable[time.Time])(p).Valid
	}
	return false
}

// cloneString copies the string (or Nullable string) v out of Arrow memory.
func cloneString[T any](gt goType, v T) T {
	p := unsafe.Pointer(&v)
	if gt.nullable {
		n := (*Nullable[string])(p)
		n.V = strings.Clone(n.V)
	} else {
		*(*string)(p) = strings.Clone(*(*string)(p))
	}
	return v
}
