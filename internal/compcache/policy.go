package compcache

import (
	"errors"
	"fmt"
	"math"
	"os"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// Policy bounds the compilation cache. A zero field sets no bound.
type Policy struct {
	MaxSize int64         // bytes
	MaxAge  time.Duration // since an entry was last used
}

// PolicyFromEnv is the default policy with the limits that
// PARIGOT_CACHE_MAX_SIZE and PARIGOT_CACHE_MAX_AGE set. A value it cannot
// read keeps its default, and the error says what is wrong and how to fix it.
func PolicyFromEnv() (Policy, error) {
	p := Policy{MaxSize: DefaultMaxSize, MaxAge: DefaultMaxAge}
	var errs []error
	if v, ok := os.LookupEnv(EnvMaxSize); ok && strings.TrimSpace(v) != "" {
		n, err := ParseSize(v)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s=%q: %w; for example %s=2GiB, or off for no limit", EnvMaxSize, v, err, EnvMaxSize))
		} else {
			p.MaxSize = n
		}
	}
	if v, ok := os.LookupEnv(EnvMaxAge); ok && strings.TrimSpace(v) != "" {
		d, err := ParseAge(v)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s=%q: %w; for example %s=14d or 72h, or off to keep entries however old", EnvMaxAge, v, err, EnvMaxAge))
		} else {
			p.MaxAge = d
		}
	}
	return p, errors.Join(errs...)
}

var sizeRE = regexp.MustCompile(`^([0-9]+(?:\.[0-9]+)?)\s*([a-zA-Z]*)$`)

// sizeUnits are the units ParseSize knows, lowercased: SI and binary.
var sizeUnits = map[string]float64{
	"": 1, "b": 1,
	"k": 1e3, "kb": 1e3, "m": 1e6, "mb": 1e6, "g": 1e9, "gb": 1e9, "t": 1e12, "tb": 1e12,
	"kib": 1 << 10, "mib": 1 << 20, "gib": 1 << 30, "tib": 1 << 40,
}

// ParseSize reads a size such as 500MB, 2GiB or 1073741824 (bytes); 0 and
// off mean no limit.
func ParseSize(s string) (int64, error) {
	s = strings.TrimSpace(s)
	if strings.EqualFold(s, "off") {
		return 0, nil
	}
	m := sizeRE.FindStringSubmatch(s)
	if m == nil {
		return 0, errors.New("not a size")
	}
	unit, ok := sizeUnits[strings.ToLower(m[2])]
	if !ok {
		return 0, fmt.Errorf("unknown unit %q (the units are B, kB, MB, GB, TB, KiB, MiB, GiB, TiB)", m[2])
	}
	n, err := strconv.ParseFloat(m[1], 64)
	if err != nil || n*unit > math.MaxInt64 {
		return 0, errors.New("not a size")
	}
	return int64(n * unit), nil
}

// ParseAge reads a duration such as 14d, 72h or 90m; 0 and off mean no
// limit.
func ParseAge(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	if strings.EqualFold(s, "off") || s == "0" {
		return 0, nil
	}
	if days, ok := strings.CutSuffix(s, "d"); ok {
		n, err := strconv.Atoi(days)
		if err != nil || n < 0 || n > 100*365 {
			return 0, errors.New("not a number of days")
		}
		return time.Duration(n) * 24 * time.Hour, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d < 0 {
		return 0, errors.New("not a duration")
	}
	return d, nil
}

// FormatSize renders n bytes in binary units: 0 B, 512 B, 26.3 MiB, 1 GiB.
func FormatSize(n int64) string {
	units := []string{"B", "KiB", "MiB", "GiB", "TiB"}
	f, i := float64(n), 0
	for f >= 1024 && i < len(units)-1 {
		f /= 1024
		i++
	}
	s := strconv.FormatFloat(f, 'f', 1, 64)
	s = strings.TrimSuffix(s, ".0")
	if i == 0 {
		s = strconv.FormatInt(n, 10)
	}
	return s + " " + units[i]
}

// FormatAge renders d in days when it is whole days (7 days), else as Go
// writes durations.
func FormatAge(d time.Duration) string {
	const day = 24 * time.Hour
	switch {
	case d == day:
		return "1 day"
	case d > 0 && d%day == 0:
		return fmt.Sprintf("%d days", d/day)
	}
	return d.String()
}
