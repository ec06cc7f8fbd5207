package functions

import (
	"strings"

	"github.com/eddy-streaming/eddy/engine/expr"
	"github.com/eddy-streaming/eddy/engine/types"
)

// ltz is TIMESTAMP_LTZ(3).
func ltz(nn bool) types.Type {
	return types.Type{Kind: types.Timestamp, Precision: 3, LocalZone: true, NotNull: nn}
}

// extractUnit binds a function of one TIMESTAMP that extracts unit.
func extractUnit(name, unit string) bindFn {
	return func(c Ctx, args []*expr.Expr) (*expr.Expr, error) {
		ts, err := wantTimestamp(c, name, args, 0)
		if err != nil {
			return nil, err
		}
		return expr.Call(expr.FuncExtract, typ(types.BigIntType, ts.Type.NotNull), strLit(unit), ts), nil
	}
}

// extractUnits are the units EXTRACT(unit FROM ts) takes, by SQL name.
var extractUnits = map[string]string{
	"YEAR": "YEAR", "QUARTER": "QUARTER", "MONTH": "MONTH", "WEEK": "WEEK", "DAY": "DAY",
	"DOY": "DOY", "DOW": "DOW", "HOUR": "HOUR", "MINUTE": "MINUTE", "SECOND": "SECOND",
}

// floorUnits are the units of FLOOR and CEIL(ts TO unit).
var floorUnits = map[string]bool{
	"YEAR": true, "QUARTER": true, "MONTH": true, "WEEK": true, "DAY": true,
	"HOUR": true, "MINUTE": true, "SECOND": true, "MILLISECOND": true,
}

// floorTo binds __eddy_floor_to(ts, 'UNIT') (FLOOR(ts TO UNIT) after the
// parser's rewrite) and the CEIL twin.
func floorTo(name, fn string) bindFn {
	return func(c Ctx, args []*expr.Expr) (*expr.Expr, error) {
		ts, err := wantTimestamp(c, name, args, 0)
		if err != nil {
			return nil, err
		}
		u, ok := strLiteral(args[1])
		if !ok || !floorUnits[strings.ToUpper(u)] {
			return nil, c.Errorf(1, "%s(... TO unit) takes YEAR, QUARTER, MONTH, WEEK, DAY, HOUR, MINUTE, SECOND or MILLISECOND, not %s", name, strings.Trim(u, "'"))
		}
		return expr.Call(fn, typ(ts.Type, ts.Type.NotNull), ts, strLit(strings.ToUpper(u))), nil
	}
}

// dateFormatArg checks a constant date pattern.
func dateFormatArg(c Ctx, name string, args []*expr.Expr, i int) (*expr.Expr, error) {
	f, err := wantString(c, name, args, i)
	if err != nil {
		return nil, err
	}
	if s, ok := strLiteral(f); ok {
		if err := expr.CheckDateFormat(s); err != nil {
			return nil, c.Errorf(i, "%s: %v", name, err)
		}
	}
	return f, nil
}

func registerTime() {
	for _, u := range []struct{ name, unit, doc string }{
		{"YEAR", "YEAR", "The year of ts."},
		{"QUARTER", "QUARTER", "The quarter (1 to 4) of ts."},
		{"MONTH", "MONTH", "The month (1 to 12) of ts."},
		{"WEEK", "WEEK", "The ISO 8601 week of the year (1 to 53) of ts."},
		{"DAYOFYEAR", "DOY", "The day of the year (1 to 366) of ts."},
		{"DAYOFMONTH", "DAY", "The day of the month (1 to 31) of ts."},
		{"DAYOFWEEK", "DOW", "The day of the week of ts, 1 (Sunday) to 7."},
		{"HOUR", "HOUR", "The hour (0 to 23) of ts."},
		{"MINUTE", "MINUTE", "The minute (0 to 59) of ts."},
		{"SECOND", "SECOND", "The second (0 to 59) of ts."},
	} {
		register(&Func{Name: u.name, Category: "time", Synopsis: u.name + "(ts)", Doc: u.doc + " A BIGINT.", MinArgs: 1, MaxArgs: 1,
			bind: extractUnit(u.name, u.unit)})
	}
	register(&Func{Name: "EXTRACT", Category: "time", Synopsis: "EXTRACT(unit FROM ts)", Doc: "Field unit (YEAR, QUARTER, MONTH, WEEK, DAY, DOY, DOW, HOUR, MINUTE, SECOND) of ts, a BIGINT.", MinArgs: 2, MaxArgs: 2,
		bind: func(c Ctx, args []*expr.Expr) (*expr.Expr, error) {
			u, _ := strLiteral(args[0])
			unit, ok := extractUnits[strings.ToUpper(u)]
			if !ok {
				return nil, c.Errorf(0, "EXTRACT takes YEAR, QUARTER, MONTH, WEEK, DAY, DOY, DOW, HOUR, MINUTE or SECOND, not %s", u)
			}
			return extractUnit("EXTRACT", unit)(c, args[1:])
		}})
	register(&Func{Name: "TIMESTAMPDIFF", Category: "time", Synopsis: "TIMESTAMPDIFF(unit, t1, t2)", Doc: "Whole units (SECOND, MINUTE, HOUR, DAY, WEEK; MONTH, QUARTER, YEAR by the calendar) from t1 to t2, an INT; negative when t2 is before t1.", MinArgs: 3, MaxArgs: 3,
		bind: func(c Ctx, args []*expr.Expr) (*expr.Expr, error) {
			u, _ := strLiteral(args[0])
			switch strings.ToUpper(u) {
			case "SECOND", "MINUTE", "HOUR", "DAY", "WEEK", "MONTH", "QUARTER", "YEAR":
			default:
				return nil, c.Errorf(0, "TIMESTAMPDIFF takes SECOND, MINUTE, HOUR, DAY, WEEK, MONTH, QUARTER or YEAR, not %s", u)
			}
			t1, err := wantTimestamp(c, "TIMESTAMPDIFF", args, 1)
			if err != nil {
				return nil, err
			}
			t2, err := wantTimestamp(c, "TIMESTAMPDIFF", args, 2)
			if err != nil {
				return nil, err
			}
			return expr.Call(expr.FuncTimestampDiff, typ(types.IntType, notNull(t1, t2)), strLit(strings.ToUpper(u)), t1, t2), nil
		}})
	register(&Func{Name: "__EDDY_FLOOR_TO", Category: "time", Synopsis: "FLOOR(ts TO unit)", Doc: "ts rounded down to a whole unit (YEAR, QUARTER, MONTH, WEEK starting on Sunday, DAY, HOUR, MINUTE, SECOND, MILLISECOND).", MinArgs: 2, MaxArgs: 2,
		bind: floorTo("FLOOR", expr.FuncFloorTo)})
	register(&Func{Name: "__EDDY_CEIL_TO", Category: "time", Synopsis: "CEIL(ts TO unit)", Doc: "ts rounded up to a whole unit.", MinArgs: 2, MaxArgs: 2,
		bind: floorTo("CEIL", expr.FuncCeilTo)})
	register(&Func{Name: "DATE_FORMAT", Category: "time", Synopsis: "DATE_FORMAT(ts, format)", Doc: "ts (a TIMESTAMP, or a STRING read as one) written with a Java SimpleDateFormat pattern such as 'yyyy-MM-dd HH:mm'.", MinArgs: 2, MaxArgs: 2,
		bind: func(c Ctx, args []*expr.Expr) (*expr.Expr, error) {
			ts := args[0]
			switch ts.Type.Kind {
			case types.Timestamp, types.String:
			case types.Null:
				ts = expr.NullLit(types.TimestampType)
			default:
				return nil, c.Errorf(0, "argument 1 of DATE_FORMAT must be a TIMESTAMP or a STRING, not %s", ts.Type.Plain().Nullable())
			}
			f, err := dateFormatArg(c, "DATE_FORMAT", args, 1)
			if err != nil {
				return nil, err
			}
			nn := ts.Type.Kind == types.Timestamp && notNull(ts, f)
			return expr.Call(expr.FuncDateFormat, typ(types.StringType, nn), ts, f), nil
		}})
	register(&Func{Name: "TO_TIMESTAMP", Category: "time", Synopsis: "TO_TIMESTAMP(s [, format])", Doc: "s read with a Java date pattern (default 'yyyy-MM-dd HH:mm:ss') as a TIMESTAMP(3); NULL when it does not parse.", MinArgs: 1, MaxArgs: 2,
		bind: func(c Ctx, args []*expr.Expr) (*expr.Expr, error) {
			s, err := wantString(c, "TO_TIMESTAMP", args, 0)
			if err != nil {
				return nil, err
			}
			out := []*expr.Expr{s}
			if len(args) == 2 {
				f, err := dateFormatArg(c, "TO_TIMESTAMP", args, 1)
				if err != nil {
					return nil, err
				}
				out = append(out, f)
			}
			return expr.Call(expr.FuncToTimestamp, typ(types.TimestampType, false), out...), nil
		}})
	register(&Func{Name: "TO_TIMESTAMP_LTZ", Category: "time", Synopsis: "TO_TIMESTAMP_LTZ(n, precision)", Doc: "Epoch seconds (precision 0) or milliseconds (precision 3) as a TIMESTAMP_LTZ(3); NULL outside the years 0000 to 9999.", MinArgs: 2, MaxArgs: 2,
		bind: func(c Ctx, args []*expr.Expr) (*expr.Expr, error) {
			n, err := wantNumeric(c, "TO_TIMESTAMP_LTZ", args, 0)
			if err != nil {
				return nil, err
			}
			if n.Type.Kind == types.Int {
				n = c.Cast(n, types.BigIntType)
			}
			p, ok := intLiteral(args[1])
			if !ok || (p != 0 && p != 3) {
				return nil, c.Errorf(1, "the precision of TO_TIMESTAMP_LTZ must be 0 (epoch seconds) or 3 (epoch milliseconds)")
			}
			return expr.Call(expr.FuncToTimestampLtz, ltz(false), n, args[1]), nil
		}})
	now := func(t func() types.Type) bindFn {
		return func(c Ctx, args []*expr.Expr) (*expr.Expr, error) {
			return expr.Call(expr.FuncCurrentTimestamp, t()), nil
		}
	}
	register(&Func{Name: "CURRENT_TIMESTAMP", Aliases: []string{"NOW"}, Category: "time", Synopsis: "CURRENT_TIMESTAMP", Doc: "The wall-clock time when the row is processed, a TIMESTAMP_LTZ(3).", MinArgs: 0, MaxArgs: 0,
		bind: now(func() types.Type { return ltz(true) })})
	register(&Func{Name: "LOCALTIMESTAMP", Category: "time", Synopsis: "LOCALTIMESTAMP", Doc: "The wall-clock time in the session time zone (UTC), a TIMESTAMP(3).", MinArgs: 0, MaxArgs: 0,
		bind: now(func() types.Type { return typ(types.TimestampType, true) })})
	register(&Func{Name: "PROCTIME", Category: "time", Synopsis: "PROCTIME()", Doc: "The processing-time attribute: the wall-clock time, a TIMESTAMP_LTZ(3).", MinArgs: 0, MaxArgs: 0,
		bind: func(c Ctx, args []*expr.Expr) (*expr.Expr, error) {
			t := ltz(true)
			t.ProcTime = true
			return expr.Call(expr.FuncProcTime, t), nil
		}})
	register(&Func{Name: "UNIX_TIMESTAMP", Category: "time", Synopsis: "UNIX_TIMESTAMP([s [, format]])", Doc: "The current time, or s read with format (default 'yyyy-MM-dd HH:mm:ss'), in epoch seconds; -9223372036854775808 when s does not parse.", MinArgs: 0, MaxArgs: 2,
		bind: func(c Ctx, args []*expr.Expr) (*expr.Expr, error) {
			if len(args) == 0 {
				return expr.Call(expr.FuncUnixTimestamp, typ(types.BigIntType, true)), nil
			}
			s, err := wantString(c, "UNIX_TIMESTAMP", args, 0)
			if err != nil {
				return nil, err
			}
			out := []*expr.Expr{s}
			if len(args) == 2 {
				f, err := dateFormatArg(c, "UNIX_TIMESTAMP", args, 1)
				if err != nil {
					return nil, err
				}
				out = append(out, f)
			}
			return expr.Call(expr.FuncUnixTimestamp, typ(types.BigIntType, notNull(out...)), out...), nil
		}})
}
