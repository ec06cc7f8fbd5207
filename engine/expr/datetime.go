package expr

// Time functions over TIMESTAMP(3) and TIMESTAMP_LTZ(3) values
// (milliseconds since the epoch; the session time zone is UTC, so both
// read the same). Calendar fields come from the proleptic Gregorian
// calendar with integer arithmetic (no time.Time per row).

import (
	"fmt"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/eddy-streaming/eddy/engine/types"
	"github.com/eddy-streaming/eddy/engine/types/sqltext"
)

const (
	msPerSecond = 1000
	msPerMinute = 60 * msPerSecond
	msPerHour   = 60 * msPerMinute
	msPerDay    = 24 * msPerHour
)

// floorDivMod returns the floor quotient and the remainder in [0, d).
func floorDivMod(a, d int64) (int64, int64) {
	q, r := a/d, a%d
	if r < 0 {
		q--
		r += d
	}
	return q, r
}

// civilDays returns the days since 1970-01-01 of y-m-d (proleptic
// Gregorian; H. Hinnant's algorithm).
func civilDays(y int64, m, d int) int64 {
	if m <= 2 {
		y--
	}
	era, yoe := floorDivMod(y, 400)
	mp := int64(m) - 3
	if m <= 2 {
		mp = int64(m) + 9
	}
	doy := (153*mp+2)/5 + int64(d) - 1
	doe := yoe*365 + yoe/4 - yoe/100 + doy
	return era*146097 + doe - 719468
}

// civilDate is the inverse of civilDays.
func civilDate(days int64) (y int64, m, d int) {
	era, doe := floorDivMod(days+719468, 146097)
	yoe := (doe - doe/1460 + doe/36524 - doe/146096) / 365
	y = yoe + era*400
	doy := doe - (365*yoe + yoe/4 - yoe/100)
	mp := (5*doy + 2) / 153
	d = int(doy - (153*mp+2)/5 + 1)
	if mp < 10 {
		m = int(mp + 3)
	} else {
		m = int(mp - 9)
	}
	if m <= 2 {
		y++
	}
	return y, m, d
}

// isLeap reports whether y is a leap year.
func isLeap(y int64) bool { return y%4 == 0 && (y%100 != 0 || y%400 == 0) }

// daysInMonth returns the number of days of month m of year y.
func daysInMonth(y int64, m int) int {
	switch m {
	case 2:
		if isLeap(y) {
			return 29
		}
		return 28
	case 4, 6, 9, 11:
		return 30
	}
	return 31
}

// dowSunday0 returns the day of the week of a day number, 0 for Sunday.
func dowSunday0(days int64) int {
	_, r := floorDivMod(days+4, 7) // 1970-01-01 was a Thursday
	return int(r)
}

// isoWeek returns the ISO 8601 week number of a day.
func isoWeek(days int64) int {
	y, _, _ := civilDate(days)
	wd := (dowSunday0(days)+6)%7 + 1 // Monday 1 .. Sunday 7
	doy := int(days-civilDays(y, 1, 1)) + 1
	w := (doy - wd + 10) / 7
	if w < 1 {
		return isoWeeksIn(y - 1)
	}
	if w > isoWeeksIn(y) {
		return 1
	}
	return w
}

// isoWeeksIn returns the number of ISO weeks of year y (52 or 53).
func isoWeeksIn(y int64) int {
	jan1 := dowSunday0(civilDays(y, 1, 1))
	if jan1 == 4 || (jan1 == 3 && isLeap(y)) {
		return 53
	}
	return 52
}

// Time units, as EXTRACT and FLOOR/CEIL ... TO name them.
const (
	unitYear = iota
	unitQuarter
	unitMonth
	unitWeek
	unitDay
	unitDoy
	unitDow
	unitHour
	unitMinute
	unitSecond
	unitMillisecond
)

var unitNames = map[string]int{
	"YEAR": unitYear, "QUARTER": unitQuarter, "MONTH": unitMonth, "WEEK": unitWeek, "DAY": unitDay,
	"DOY": unitDoy, "DOW": unitDow, "HOUR": unitHour, "MINUTE": unitMinute, "SECOND": unitSecond,
	"MILLISECOND": unitMillisecond,
}

// timeUnit reads the constant unit argument of extract, floor_to and
// ceil_to.
func timeUnit(name string, p *prog, allowed func(int) bool) (int, error) {
	s, null, ok := constString(p)
	if !ok || null {
		return 0, fmt.Errorf("the unit of %s must be a constant STRING, not %s", name, p.text)
	}
	u, known := unitNames[strings.ToUpper(s)]
	if !known || !allowed(u) {
		return 0, fmt.Errorf("%s does not support the unit '%s'", name, s)
	}
	return u, nil
}

// extractField returns field unit of a timestamp (Calcite's EXTRACT: DOW
// is 1 for Sunday to 7, WEEK the ISO 8601 week number).
func extractField(ms int64, unit int) int64 {
	days, tod := floorDivMod(ms, msPerDay)
	switch unit {
	case unitHour:
		return tod / msPerHour
	case unitMinute:
		return tod / msPerMinute % 60
	case unitSecond:
		return tod / msPerSecond % 60
	case unitMillisecond:
		return tod % msPerMinute
	case unitDow:
		return int64(dowSunday0(days) + 1)
	case unitWeek:
		return int64(isoWeek(days))
	}
	y, m, d := civilDate(days)
	switch unit {
	case unitYear:
		return y
	case unitQuarter:
		return int64((m-1)/3 + 1)
	case unitMonth:
		return int64(m)
	case unitDay:
		return int64(d)
	default: // unitDoy
		return days - civilDays(y, 1, 1) + 1
	}
}

// compileExtract compiles extract(unit, ts): a calendar field as BIGINT.
func compileExtract(c *compiler, e *Expr, args []*prog) (*prog, error) {
	if err := argRange("EXTRACT", args, 2, 2); err != nil {
		return nil, err
	}
	if err := checkArgKinds("EXTRACT", args, strKinds, tsKinds); err != nil {
		return nil, err
	}
	if e.Type.Kind != types.BigInt {
		return nil, fmt.Errorf("EXTRACT returns a BIGINT, not %s", e.Type)
	}
	unit, err := timeUnit("EXTRACT", args[0], func(int) bool { return true })
	if err != nil {
		return nil, err
	}
	ts := args[1]
	p := &prog{t: e.Type, text: "EXTRACT(" + strings.Trim(args[0].text, "'") + " FROM " + ts.text + ")", fallible: ts.fallible}
	p.run = strictRun(args[1:], func(ec *evalCtx, vals []value, n int) (value, error) {
		in := newIntOperand(vals[0])
		ob, out := newValues[int64](ec.mem, n)
		switch unit {
		case unitHour, unitMinute, unitSecond, unitMillisecond:
			div, mod := int64(msPerHour), int64(24)
			switch unit {
			case unitMinute:
				div, mod = msPerMinute, 60
			case unitSecond:
				div, mod = msPerSecond, 60
			case unitMillisecond:
				div, mod = 1, msPerMinute
			}
			for i := range out {
				_, tod := floorDivMod(in.at(i), msPerDay)
				out[i] = tod / div % mod
			}
		default:
			for i := range out {
				out[i] = extractField(in.at(i), unit)
			}
		}
		nulls := newOutNulls(ec.mem, n, vals...)
		vb, nn := nulls.finish()
		return value{arr: makeArray(arrow.PrimitiveTypes.Int64, n, nn, vb, ob)}, nil
	})
	return p, nil
}

// floorTo returns the start of the unit-long period holding ms.
func floorTo(ms int64, unit int) int64 {
	switch unit {
	case unitMillisecond:
		return ms
	case unitSecond, unitMinute, unitHour, unitDay:
		u := int64(msPerSecond)
		switch unit {
		case unitMinute:
			u = msPerMinute
		case unitHour:
			u = msPerHour
		case unitDay:
			u = msPerDay
		}
		_, r := floorDivMod(ms, u)
		return ms - r
	}
	days, _ := floorDivMod(ms, msPerDay)
	switch unit {
	case unitWeek:
		return (days - int64(dowSunday0(days))) * msPerDay
	}
	y, m, _ := civilDate(days)
	switch unit {
	case unitYear:
		m = 1
	case unitQuarter:
		m = (m-1)/3*3 + 1
	}
	return civilDays(y, m, 1) * msPerDay
}

// ceilTo returns the end of the unit-long period holding ms, or ms itself
// when it starts one.
func ceilTo(ms int64, unit int) int64 {
	f := floorTo(ms, unit)
	if f == ms {
		return ms
	}
	switch unit {
	case unitSecond:
		return f + msPerSecond
	case unitMinute:
		return f + msPerMinute
	case unitHour:
		return f + msPerHour
	case unitDay:
		return f + msPerDay
	case unitWeek:
		return f + 7*msPerDay
	}
	y, m, _ := civilDate(f / msPerDay)
	step := 1
	switch unit {
	case unitYear:
		step = 12
	case unitQuarter:
		step = 3
	}
	m += step
	y += int64((m - 1) / 12)
	m = (m-1)%12 + 1
	return civilDays(y, m, 1) * msPerDay
}

// compileFloorCeilTo compiles floor_to and ceil_to(ts, unit): FLOOR(ts TO
// unit) and CEIL(ts TO unit) for YEAR, QUARTER, MONTH, WEEK (starting on
// Sunday), DAY, HOUR, MINUTE, SECOND and MILLISECOND. (Flink's CEIL to
// YEAR, QUARTER, MONTH and WEEK ignores the time of day, and both truncate
// the day of a time before 1970 toward zero; Eddy's are the exact ceiling
// and floor.)
func compileFloorCeilTo(ceil bool) compileFn {
	name := "FLOOR"
	if ceil {
		name = "CEIL"
	}
	return func(c *compiler, e *Expr, args []*prog) (*prog, error) {
		if err := argRange(name, args, 2, 2); err != nil {
			return nil, err
		}
		if err := checkArgKinds(name, args, tsKinds, strKinds); err != nil {
			return nil, err
		}
		if e.Type.Kind != types.Timestamp {
			return nil, fmt.Errorf("%s ... TO returns a TIMESTAMP, not %s", name, e.Type)
		}
		unit, err := timeUnit(name, args[1], func(u int) bool { return u != unitDoy && u != unitDow })
		if err != nil {
			return nil, err
		}
		ts := args[0]
		p := &prog{t: e.Type, text: name + "(" + ts.text + " TO " + strings.Trim(args[1].text, "'") + ")", fallible: ts.fallible}
		p.run = strictRun(args[:1], func(ec *evalCtx, vals []value, n int) (value, error) {
			in := newIntOperand(vals[0])
			ob, out := newValues[int64](ec.mem, n)
			for i := range out {
				if ceil {
					out[i] = ceilTo(in.at(i), unit)
				} else {
					out[i] = floorTo(in.at(i), unit)
				}
			}
			nulls := newOutNulls(ec.mem, n, vals...)
			vb, nn := nulls.finish()
			return value{arr: makeArray(arrow.FixedWidthTypes.Timestamp_ms, n, nn, vb, ob)}, nil
		})
		return p, nil
	}
}

// compileDateFormat compiles DATE_FORMAT(ts, format): ts (a TIMESTAMP, or
// a STRING read as CAST to TIMESTAMP reads one, NULL when it is not one)
// written with a Java SimpleDateFormat pattern. A constant format is
// translated once.
func compileDateFormat(c *compiler, e *Expr, args []*prog) (*prog, error) {
	if err := argRange("DATE_FORMAT", args, 2, 2); err != nil {
		return nil, err
	}
	if err := checkArgKinds("DATE_FORMAT", args, []types.Kind{types.Timestamp, types.String}, strKinds); err != nil {
		return nil, err
	}
	if err := strResult("DATE_FORMAT", e.Type); err != nil {
		return nil, err
	}
	text := callText("DATE_FORMAT", args)
	p := &prog{t: e.Type, text: text, fallible: anyFallible(args...)}
	var konst *dateFormat
	if f, null, ok := constString(args[1]); ok && !null {
		df, err := compileDateFormatPattern(f)
		if err != nil {
			return nil, err
		}
		konst = df
	} else if !ok {
		p.fallible = true
	}
	fromString := args[0].t.Kind == types.String
	p.run = strictRun(args, func(ec *evalCtx, vals []value, n int) (value, error) {
		var ts intOperand
		var str strOperand
		if fromString {
			str = newStrOperand(vals[0])
		} else {
			ts = newIntOperand(vals[0])
		}
		fm := newStrOperand(vals[1])
		nulls := newOutNulls(ec.mem, n, vals...)
		size := n * 24
		if konst != nil {
			size = n * konst.width
		}
		b := newStrBuilder(ec.mem, n, size)
		df := konst
		var last []byte
		for i := 0; i < n; i++ {
			b.begin()
			if !nulls.valid(i) {
				continue
			}
			if konst == nil {
				if f := fm.at(i); df == nil || string(f) != string(last) {
					var err error
					if df, err = compileDateFormatPattern(string(f)); err != nil {
						b.release()
						nulls.release()
						return value{}, fmt.Errorf("%s: %w", text, err)
					}
					last = f
				}
			}
			var ms int64
			if fromString {
				var ok bool
				if ms, ok = sqltext.ParseTimestampLenient(sqltext.Trim(str.at(i))); !ok {
					nulls.setNull(i)
					continue
				}
			} else {
				ms = ts.at(i)
			}
			df.format(b, ms)
		}
		vb, nn := nulls.finish()
		return value{arr: b.finish(vb, nn)}, nil
	})
	return p, nil
}
