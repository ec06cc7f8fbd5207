package sqltext

import "strconv"

// msPerDay is the number of milliseconds in a day.
const msPerDay = 86_400_000

// daysFromCivil returns the number of days from 1970-01-01 to the date
// y-m-d of the proleptic Gregorian calendar (H. Hinnant's algorithm).
func daysFromCivil(y int64, m, d int) int64 {
	if m <= 2 {
		y--
	}
	era := y / 400
	if y < 0 && y%400 != 0 {
		era-- // floor division
	}
	yoe := y - era*400
	mp := int64(m) + 9 // March is month 0 of the computational year
	if m > 2 {
		mp = int64(m) - 3
	}
	doy := (153*mp+2)/5 + int64(d) - 1
	doe := yoe*365 + yoe/4 - yoe/100 + doy
	return era*146097 + doe - 719468
}

// civil is the inverse of daysFromCivil.
func civil(days int64) (y int64, m, d int) {
	z := days + 719468
	era := z / 146097
	if z < 0 && z%146097 != 0 {
		era-- // floor division
	}
	doe := z - era*146097
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

// daysIn returns the number of days of month m of year y.
func daysIn(y int64, m int) int {
	switch m {
	case 2:
		if y%4 == 0 && (y%100 != 0 || y%400 == 0) {
			return 29
		}
		return 28
	case 4, 6, 9, 11:
		return 30
	}
	return 31
}

// AppendTimestamp appends a TIMESTAMP(3), given as milliseconds since
// 1970-01-01 00:00:00, as 'yyyy-MM-dd HH:mm:ss.SSS' with sep between the
// date and the time: ' ' for SQL's form (Flink's CAST to STRING and its
// text formats), 'T' for ISO 8601. Years outside 0..9999 take as many
// digits as they need and a '-' when negative, as Go's time package
// writes them.
func AppendTimestamp(dst []byte, ms int64, sep byte) []byte {
	days, rem := ms/msPerDay, ms%msPerDay
	if rem < 0 {
		rem += msPerDay
		days--
	}
	y, mo, d := civil(days)
	if y >= 0 && y <= 9999 {
		dst = append(dst, byte('0'+y/1000), byte('0'+y/100%10), byte('0'+y/10%10), byte('0'+y%10))
	} else {
		if y < 0 {
			dst = append(dst, '-')
			y = -y
		}
		var buf [20]byte
		s := strconv.AppendInt(buf[:0], y, 10)
		for i := len(s); i < 4; i++ {
			dst = append(dst, '0')
		}
		dst = append(dst, s...)
	}
	h, mi, s, f := rem/3_600_000, rem/60_000%60, rem/1000%60, rem%1000
	return append(dst, '-', byte('0'+mo/10), byte('0'+mo%10), '-', byte('0'+d/10), byte('0'+d%10),
		sep, byte('0'+h/10), byte('0'+h%10), ':', byte('0'+mi/10), byte('0'+mi%10), ':', byte('0'+s/10), byte('0'+s%10),
		'.', byte('0'+f/100), byte('0'+f/10%10), byte('0'+f%10))
}

// ParseTimestamp parses a TIMESTAMP(3) written as 'yyyy-MM-dd HH:mm:ss',
// optionally followed by '.' and 1 to 9 fraction digits, with ' ' or 'T'
// between date and time and every field at its full width: the form
// AppendTimestamp writes, as a text format reads a TIMESTAMP(3) field. It
// returns milliseconds since the epoch (digits past the milliseconds are
// dropped) and reports whether b is such a timestamp of a real date and
// time.
func ParseTimestamp(b []byte) (int64, bool) { return parseTimestamp(b, false) }

// ParseTimestampLenient parses a TIMESTAMP(3) as Flink's CAST from STRING
// reads one: 'yyyy-MM-dd[( |T)HH:mm[:ss[.fffffffff]]]', where month, day,
// hours, minutes and seconds may also have one digit and a missing time
// is midnight. It returns milliseconds since the epoch (digits past the
// milliseconds are dropped) and reports success.
func ParseTimestampLenient(b []byte) (int64, bool) { return parseTimestamp(b, true) }

// parseTimestamp is ParseTimestamp, or ParseTimestampLenient if lenient.
func parseTimestamp(b []byte, lenient bool) (int64, bool) {
	if len(b) < 8 || b[4] != '-' {
		return 0, false
	}
	var y int64
	for _, c := range b[:4] {
		if c-'0' > 9 {
			return 0, false
		}
		y = y*10 + int64(c-'0')
	}
	mo, i, ok := field(b, 5, lenient)
	if !ok || i == len(b) || b[i] != '-' {
		return 0, false
	}
	d, i, ok := field(b, i+1, lenient)
	if !ok || mo < 1 || mo > 12 || d < 1 || d > int64(daysIn(y, int(mo))) {
		return 0, false
	}
	var h, mi, s, ms int64
	if i == len(b) {
		if !lenient {
			return 0, false
		}
	} else {
		if b[i] != ' ' && b[i] != 'T' {
			return 0, false
		}
		if h, i, ok = field(b, i+1, lenient); !ok || i == len(b) || b[i] != ':' {
			return 0, false
		}
		if mi, i, ok = field(b, i+1, lenient); !ok {
			return 0, false
		}
		if i < len(b) && b[i] == ':' {
			if s, i, ok = field(b, i+1, lenient); !ok {
				return 0, false
			}
			if i < len(b) && b[i] == '.' {
				// 1 to 9 digits; those past the milliseconds are dropped.
				i++
				n := 0
				for ; i < len(b) && n < 9 && b[i]-'0' <= 9; i, n = i+1, n+1 {
					if n < 3 {
						ms = ms*10 + int64(b[i]-'0')
					}
				}
				if n == 0 {
					return 0, false
				}
				for ; n < 3; n++ {
					ms *= 10
				}
			}
		} else if !lenient {
			return 0, false
		}
		if i != len(b) || h > 23 || mi > 59 || s > 59 {
			return 0, false
		}
	}
	return daysFromCivil(y, int(mo), int(d))*msPerDay + h*3_600_000 + mi*60_000 + s*1000 + ms, true
}

// field reads the field of two digits at b[i], or of one digit if lenient
// (and no second digit follows), and returns its value, the position
// after it and whether there was one.
func field(b []byte, i int, lenient bool) (int64, int, bool) {
	if i >= len(b) || b[i]-'0' > 9 {
		return 0, i, false
	}
	d0 := int64(b[i] - '0')
	if i+1 < len(b) && b[i+1]-'0' <= 9 {
		return d0*10 + int64(b[i+1]-'0'), i + 2, true
	}
	return d0, i + 1, lenient
}
