package expr

// Java date patterns ('yyyy-MM-dd HH:mm:ss'), translated once into a list
// of fields, for DATE_FORMAT (formatting, SimpleDateFormat's rules in the
// US locale and UTC) and TO_TIMESTAMP and UNIX_TIMESTAMP (parsing, with
// DateTimeFormatter's widths: a field of n >= 2 letters reads exactly n
// digits, of one letter one or more; 'yyyy' four or more).

import (
	"bytes"
	"fmt"
	"strings"
	"unicode/utf8"
)

// dfField is one field of a date pattern: a pattern letter repeated count
// times, or literal text (letter 0).
type dfField struct {
	letter byte
	count  int
	lit    []byte
}

// dateFormat is a compiled date pattern.
type dateFormat struct {
	fields []dfField
	width  int // a guess of the formatted length, for buffer sizing
	// hour12 reports whether the pattern has a 12-hour field and an AM/PM
	// marker (for parsing).
	hour12, ampm bool
}

// dfLetters are SimpleDateFormat's pattern letters.
const dfLetters = "GyYMLwWDdFEuaHkKhmsSzZX"

var (
	monthNames = [...]string{"January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November", "December"}
	dayNames   = [...]string{"Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"}
)

// CheckDateFormat reports whether pattern is a date pattern DATE_FORMAT,
// TO_TIMESTAMP and UNIX_TIMESTAMP accept, with an error that says why not.
func CheckDateFormat(pattern string) error {
	_, err := compileDateFormatPattern(pattern)
	return err
}

// compileDateFormatPattern translates a Java date pattern: letters are
// fields, text in single quotes is literal (two quotes make one), other
// characters are literal; a letter that is no pattern letter is an error.
func compileDateFormatPattern(pattern string) (*dateFormat, error) {
	df := &dateFormat{}
	var lit strings.Builder
	flush := func() {
		if lit.Len() > 0 {
			df.fields = append(df.fields, dfField{lit: []byte(lit.String())})
			df.width += lit.Len()
			lit.Reset()
		}
	}
	for i := 0; i < len(pattern); {
		c := pattern[i]
		switch {
		case c == '\'':
			if i+1 < len(pattern) && pattern[i+1] == '\'' {
				lit.WriteByte('\'')
				i += 2
				continue
			}
			j := i + 1
			for {
				if j >= len(pattern) {
					return nil, fmt.Errorf("invalid date pattern '%s': unterminated quote", pattern)
				}
				if pattern[j] == '\'' {
					if j+1 < len(pattern) && pattern[j+1] == '\'' {
						lit.WriteByte('\'')
						j += 2
						continue
					}
					break
				}
				lit.WriteByte(pattern[j])
				j++
			}
			i = j + 1
		case ('a' <= c && c <= 'z') || ('A' <= c && c <= 'Z'):
			if !strings.ContainsRune(dfLetters, rune(c)) {
				return nil, fmt.Errorf("invalid date pattern '%s': illegal pattern character '%c'", pattern, c)
			}
			j := i
			for j < len(pattern) && pattern[j] == c {
				j++
			}
			flush()
			f := dfField{letter: c, count: j - i}
			df.fields = append(df.fields, f)
			df.width += max(f.count, 4)
			switch c {
			case 'h', 'K':
				df.hour12 = true
			case 'a':
				df.ampm = true
			}
			i = j
		default:
			_, size := utf8.DecodeRuneInString(pattern[i:])
			lit.WriteString(pattern[i : i+size])
			i += size
		}
	}
	flush()
	return df, nil
}

// writePadded writes v in decimal, zero-padded to width digits.
func writePadded(b *strBuilder, v int64, width int) {
	if v < 0 {
		b.writeByte('-')
		v = -v
	}
	var buf [24]byte
	k := len(buf)
	for v >= 10 {
		k--
		buf[k] = byte('0' + v%10)
		v /= 10
	}
	k--
	buf[k] = byte('0' + v)
	for digits := len(buf) - k; digits < width; digits++ {
		b.writeByte('0')
	}
	b.write(buf[k:])
}

// writeName writes a month or day name: the full name for 4 or more
// letters, else its first three letters.
func writeName(b *strBuilder, name string, count int) {
	if count < 4 {
		name = name[:3]
	}
	b.reserve(len(name))
	b.pos += copy(b.data[b.pos:], name)
}

// weekFields returns SimpleDateFormat's week-based fields in the US locale
// (weeks start on Sunday, week 1 is the one holding January 1): the week
// year, the week of the year and the week of the month.
func weekFields(days int64, y int64, m, d int) (wy int64, w, wm int) {
	dow := int64(dowSunday0(days))
	weekStart := days - dow
	if weekStart+6 >= civilDays(y+1, 1, 1) {
		wy, w = y+1, 1
	} else {
		jan1 := civilDays(y, 1, 1)
		first := jan1 - int64(dowSunday0(jan1))
		wy, w = y, int((weekStart-first)/7)+1
	}
	first := civilDays(y, m, 1)
	wm = (d-1+dowSunday0(first))/7 + 1
	return wy, w, wm
}

// format writes ms (UTC) as the next row of b.
func (df *dateFormat) format(b *strBuilder, ms int64) {
	days, tod := floorDivMod(ms, msPerDay)
	y, m, d := civilDate(days)
	hour := int(tod / msPerHour)
	for _, f := range df.fields {
		if f.letter == 0 {
			b.reserve(len(f.lit))
			b.pos += copy(b.data[b.pos:], f.lit)
			continue
		}
		switch f.letter {
		case 'G':
			if y > 0 {
				b.writeStr("AD")
			} else {
				b.writeStr("BC")
			}
		case 'y', 'Y':
			yy := y
			if f.letter == 'Y' {
				yy, _, _ = weekFields(days, y, m, d)
			}
			if yy <= 0 {
				yy = 1 - yy // year of era
			}
			if f.count == 2 {
				writePadded(b, yy%100, 2)
			} else {
				writePadded(b, yy, f.count)
			}
		case 'M', 'L':
			if f.count >= 3 {
				writeName(b, monthNames[m-1], f.count)
			} else {
				writePadded(b, int64(m), f.count)
			}
		case 'w', 'W':
			_, w, wm := weekFields(days, y, m, d)
			if f.letter == 'W' {
				w = wm
			}
			writePadded(b, int64(w), f.count)
		case 'D':
			writePadded(b, days-civilDays(y, 1, 1)+1, f.count)
		case 'd':
			writePadded(b, int64(d), f.count)
		case 'F':
			writePadded(b, int64((d-1)/7+1), f.count)
		case 'E':
			writeName(b, dayNames[dowSunday0(days)], f.count)
		case 'u':
			writePadded(b, int64((dowSunday0(days)+6)%7+1), f.count)
		case 'a':
			if hour < 12 {
				b.writeStr("AM")
			} else {
				b.writeStr("PM")
			}
		case 'H':
			writePadded(b, int64(hour), f.count)
		case 'k':
			h := hour
			if h == 0 {
				h = 24
			}
			writePadded(b, int64(h), f.count)
		case 'K':
			writePadded(b, int64(hour%12), f.count)
		case 'h':
			h := hour % 12
			if h == 0 {
				h = 12
			}
			writePadded(b, int64(h), f.count)
		case 'm':
			writePadded(b, tod/msPerMinute%60, f.count)
		case 's':
			writePadded(b, tod/msPerSecond%60, f.count)
		case 'S':
			writePadded(b, tod%msPerSecond, f.count)
		case 'z':
			if f.count >= 4 {
				b.writeStr("Coordinated Universal Time")
			} else {
				b.writeStr("UTC")
			}
		case 'Z':
			b.writeStr("+0000")
		case 'X':
			b.writeByte('Z')
		}
	}
}

// readDigits reads between lo and hi digits at s[i:] and returns their
// value and the position after them.
func readDigits(s []byte, i, lo, hi int) (int64, int, bool) {
	var v int64
	k := 0
	for ; k < hi && i+k < len(s) && s[i+k]-'0' <= 9; k++ {
		v = v*10 + int64(s[i+k]-'0')
	}
	if k < lo {
		return 0, i, false
	}
	return v, i + k, true
}

// readName reads a month or day name (full or its first three letters,
// any case) at s[i:] and returns its index in names.
func readName(s []byte, i int, names []string) (int, int, bool) {
	for k, name := range names {
		for _, cand := range []string{name, name[:3]} {
			if i+len(cand) <= len(s) && strings.EqualFold(string(s[i:i+len(cand)]), cand) {
				return k, i + len(cand), true
			}
		}
	}
	return 0, i, false
}

// parse reads s with the pattern and returns milliseconds since the epoch
// (UTC). Fields the pattern lacks default to 1970-01-01 00:00:00.000; the
// whole of s must be read and the date must exist.
func (df *dateFormat) parse(s []byte) (int64, bool) {
	var y int64 = 1970
	mo, d := 1, 1
	var h, mi, sec, ms int64
	pm, hasAmPm := false, false
	i := 0
	for _, f := range df.fields {
		if f.letter == 0 {
			if !bytes.HasPrefix(s[i:], f.lit) {
				return 0, false
			}
			i += len(f.lit)
			continue
		}
		lo, hi := f.count, f.count
		if f.count == 1 {
			hi = 9
		}
		var v int64
		var ok bool
		switch f.letter {
		case 'y', 'Y':
			if f.count != 2 {
				hi = 9
			}
			if v, i, ok = readDigits(s, i, lo, hi); !ok {
				return 0, false
			}
			if f.count == 2 {
				v += 2000
			}
			y = v
		case 'M', 'L':
			if f.count >= 3 {
				var k int
				if k, i, ok = readName(s, i, monthNames[:]); !ok {
					return 0, false
				}
				mo = k + 1
				continue
			}
			if v, i, ok = readDigits(s, i, lo, min(hi, 2)); !ok {
				return 0, false
			}
			mo = int(v)
		case 'd':
			if v, i, ok = readDigits(s, i, lo, min(hi, 2)); !ok {
				return 0, false
			}
			d = int(v)
		case 'E':
			if _, i, ok = readName(s, i, dayNames[:]); !ok {
				return 0, false
			}
		case 'a':
			switch {
			case i+2 <= len(s) && strings.EqualFold(string(s[i:i+2]), "AM"):
			case i+2 <= len(s) && strings.EqualFold(string(s[i:i+2]), "PM"):
				pm = true
			default:
				return 0, false
			}
			hasAmPm = true
			i += 2
		case 'H', 'k', 'K', 'h':
			if v, i, ok = readDigits(s, i, lo, min(hi, 2)); !ok {
				return 0, false
			}
			switch f.letter {
			case 'k':
				if v == 24 {
					v = 0
				}
			case 'h':
				if v == 12 {
					v = 0
				}
			}
			h = v
		case 'm':
			if mi, i, ok = readDigits(s, i, lo, min(hi, 2)); !ok {
				return 0, false
			}
		case 's':
			if sec, i, ok = readDigits(s, i, lo, min(hi, 2)); !ok {
				return 0, false
			}
		case 'S':
			// A fraction of a second of exactly count digits.
			start := i
			if v, i, ok = readDigits(s, i, lo, hi); !ok {
				return 0, false
			}
			for n := i - start; n < 3; n++ {
				v *= 10
			}
			for n := i - start; n > 3; n-- {
				v /= 10
			}
			ms = v
		case 'X', 'Z':
			switch {
			case i < len(s) && s[i] == 'Z':
				i++
			case i+5 <= len(s) && (string(s[i:i+5]) == "+0000" || string(s[i:i+5]) == "-0000"):
				i += 5
			default:
				return 0, false // only UTC offsets are read
			}
		default:
			return 0, false // G, w, W, D, F, u, z: not read
		}
	}
	if i != len(s) {
		return 0, false
	}
	if hasAmPm && pm && df.hour12 {
		h += 12
	}
	if mo < 1 || mo > 12 || d < 1 || d > daysInMonth(y, mo) || h > 23 || mi > 59 || sec > 59 {
		return 0, false
	}
	return civilDays(y, mo, d)*msPerDay + h*msPerHour + mi*msPerMinute + sec*msPerSecond + ms, true
}
