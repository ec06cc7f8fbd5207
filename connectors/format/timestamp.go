package format

import (
	"time"
)

// TimestampLayout is the layout TIMESTAMP(3) values are written in, in Go's
// notation: 'yyyy-MM-dd HH:mm:ss.SSS', UTC, no time zone.
const TimestampLayout = "2006-01-02 15:04:05.000"

const msPerDay = 86_400_000

// daysFromCivil returns the number of days from 1970-01-01 to y-m-d in the
// proleptic Gregorian calendar (H. Hinnant's algorithm).
func daysFromCivil(y, m, d int64) int64 {
	if m <= 2 {
		y--
	}
	era := y / 400
	if y < 0 && y%400 != 0 {
		era = (y - 399) / 400
	}
	yoe := y - era*400
	mp := (m + 9) % 12
	doy := (153*mp+2)/5 + d - 1
	doe := yoe*365 + yoe/4 - yoe/100 + doy
	return era*146097 + doe - 719468
}

// civilFromDays is the inverse of daysFromCivil.
func civilFromDays(z int64) (y, m, d int64) {
	z += 719468
	era := z / 146097
	if z < 0 && z%146097 != 0 {
		era = (z - 146096) / 146097
	}
	doe := z - era*146097
	yoe := (doe - doe/1460 + doe/36524 - doe/146096) / 365
	y = yoe + era*400
	doy := doe - (365*yoe + yoe/4 - yoe/100)
	mp := (5*doy + 2) / 153
	d = doy - (153*mp+2)/5 + 1
	if mp < 10 {
		m = mp + 3
	} else {
		m = mp - 9
	}
	if m <= 2 {
		y++
	}
	return y, m, d
}

func isLeap(y int64) bool { return y%4 == 0 && (y%100 != 0 || y%400 == 0) }

var monthDays = [13]int64{0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31}

// digits parses b[i:i+n] as an unsigned decimal number.
func digits(b []byte, i, n int) (int64, bool) {
	if i+n > len(b) {
		return 0, false
	}
	var v int64
	for _, c := range b[i : i+n] {
		if c < '0' || c > '9' {
			return 0, false
		}
		v = v*10 + int64(c-'0')
	}
	return v, true
}

// ParseTimestamp parses a TIMESTAMP(3) in the form 'yyyy-MM-dd HH:mm:ss',
// optionally followed by a '.' and 1 to 9 fraction digits (digits past
// the milliseconds are truncated); 'T' may separate date and time. It
// returns milliseconds since the epoch, reading the value as UTC.
func ParseTimestamp(b []byte) (int64, bool) {
	if len(b) < 19 || b[4] != '-' || b[7] != '-' || (b[10] != ' ' && b[10] != 'T') || b[13] != ':' || b[16] != ':' {
		return 0, false
	}
	y, ok1 := digits(b, 0, 4)
	mo, ok2 := digits(b, 5, 2)
	d, ok3 := digits(b, 8, 2)
	h, ok4 := digits(b, 11, 2)
	mi, ok5 := digits(b, 14, 2)
	s, ok6 := digits(b, 17, 2)
	if !(ok1 && ok2 && ok3 && ok4 && ok5 && ok6) {
		return 0, false
	}
	if mo < 1 || mo > 12 || d < 1 || h > 23 || mi > 59 || s > 59 {
		return 0, false
	}
	maxDay := monthDays[mo]
	if mo == 2 && isLeap(y) {
		maxDay = 29
	}
	if d > maxDay {
		return 0, false
	}
	var ms int64
	if len(b) > 19 {
		frac := b[19:]
		if frac[0] != '.' || len(frac) < 2 || len(frac) > 10 {
			return 0, false
		}
		scale := int64(100)
		for _, c := range frac[1:] {
			if c < '0' || c > '9' {
				return 0, false
			}
			ms += int64(c-'0') * scale
			scale /= 10
		}
	}
	return daysFromCivil(y, mo, d)*msPerDay + ((h*60+mi)*60+s)*1000 + ms, true
}

// put2 appends v (0..99) as two digits.
func put2(dst []byte, v int64) []byte {
	return append(dst, byte('0'+v/10), byte('0'+v%10))
}

// AppendTimestamp appends ms (milliseconds since the epoch) as
// 'yyyy-MM-dd HH:mm:ss.SSS' in UTC, or with a 'T' between date and time
// when iso is set.
func AppendTimestamp(dst []byte, ms int64, iso bool) []byte {
	days := ms / msPerDay
	rem := ms % msPerDay
	if rem < 0 {
		rem += msPerDay
		days--
	}
	y, mo, d := civilFromDays(days)
	if y < 0 || y > 9999 {
		layout := TimestampLayout
		if iso {
			layout = "2006-01-02T15:04:05.000"
		}
		return time.UnixMilli(ms).UTC().AppendFormat(dst, layout)
	}
	dst = put2(dst, y/100)
	dst = put2(dst, y%100)
	dst = append(dst, '-')
	dst = put2(dst, mo)
	dst = append(dst, '-')
	dst = put2(dst, d)
	if iso {
		dst = append(dst, 'T')
	} else {
		dst = append(dst, ' ')
	}
	secs := rem / 1000
	dst = put2(dst, secs/3600)
	dst = append(dst, ':')
	dst = put2(dst, secs/60%60)
	dst = append(dst, ':')
	dst = put2(dst, secs%60)
	frac := rem % 1000
	return append(dst, '.', byte('0'+frac/100), byte('0'+frac/10%10), byte('0'+frac%10))
}

// FormatTimestamp returns ms as 'yyyy-MM-dd HH:mm:ss.SSS' (UTC).
func FormatTimestamp(ms int64) string { return string(AppendTimestamp(nil, ms, false)) }
