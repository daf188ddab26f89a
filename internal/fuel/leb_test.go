package fuel

import (
	"errors"
	"fmt"
	"math"
	"testing"
)

func TestLEB128DecodesWhatTheSpecAllowsAndNothingElse(t *testing.T) {
	for _, tc := range []struct {
		in     []byte
		bits   int
		signed bool
		want   int64 // as the signed or unsigned value
		bad    bool
	}{
		{in: []byte{0x00}, bits: 32, want: 0},
		{in: []byte{0x7f}, bits: 32, want: 127},
		{in: []byte{0x80, 0x01}, bits: 32, want: 128},
		{in: []byte{0x80, 0x80, 0x00}, bits: 32, want: 0}, // padded: allowed
		{in: []byte{0xff, 0xff, 0xff, 0xff, 0x0f}, bits: 32, want: math.MaxUint32},
		{in: []byte{0xff, 0xff, 0xff, 0xff, 0x1f}, bits: 32, bad: true},       // a 33rd bit
		{in: []byte{0x80, 0x80, 0x80, 0x80, 0x80, 0x00}, bits: 32, bad: true}, // six bytes
		{in: []byte{0x80}, bits: 32, bad: true},                               // truncated
		{in: []byte{0x7f}, bits: 32, signed: true, want: -1},
		{in: []byte{0x3f}, bits: 32, signed: true, want: 63},
		{in: []byte{0xc0, 0x00}, bits: 32, signed: true, want: 64},
		{in: []byte{0x80, 0x7f}, bits: 32, signed: true, want: -128},
		{in: []byte{0xff, 0xff, 0xff, 0xff, 0x07}, bits: 32, signed: true, want: math.MaxInt32},
		{in: []byte{0x80, 0x80, 0x80, 0x80, 0x78}, bits: 32, signed: true, want: math.MinInt32},
		{in: []byte{0xff, 0xff, 0xff, 0xff, 0x0f}, bits: 32, signed: true, bad: true}, // 2^32-1 is not an s32
		{in: []byte{0x80, 0x80, 0x80, 0x80, 0x70}, bits: 32, signed: true, bad: true},
		{in: []byte{0xff, 0xff, 0xff, 0xff, 0x0f}, bits: 33, signed: true, want: math.MaxUint32},
		{in: []byte{0x80, 0x80, 0x80, 0x80, 0x70}, bits: 33, signed: true, want: -1 << 32},
		{in: []byte{0x80, 0x80, 0x80, 0x80, 0x60}, bits: 33, signed: true, bad: true},
		{in: []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x00}, bits: 64, signed: true, want: math.MaxInt64},
		{in: []byte{0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x7f}, bits: 64, signed: true, want: math.MinInt64},
		{in: []byte{0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01}, bits: 64, signed: true, bad: true},
		{in: []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01}, bits: 64, want: -1}, // 2^64-1
		{in: []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02}, bits: 64, bad: true},
	} {
		kind := "u"
		if tc.signed {
			kind = "s"
		}
		t.Run(fmt.Sprintf("%s%d % x", kind, tc.bits, tc.in), func(t *testing.T) {
			got, err := decode(tc.in, tc.bits, tc.signed)
			switch {
			case tc.bad && err == nil:
				t.Errorf("decoded %d, want an error", got)
			case !tc.bad && err != nil:
				t.Errorf("error %v, want %d", err, tc.want)
			case !tc.bad && got != tc.want:
				t.Errorf("decoded %d, want %d", got, tc.want)
			}
		})
	}
}

func decode(in []byte, bits int, signed bool) (v int64, err error) {
	defer func() {
		if p := recover(); p != nil {
			err = p.(*Error)
		}
	}()
	r := &reader{b: in, end: len(in)}
	v = int64(r.leb(bits, signed))
	if r.left() != 0 {
		return v, errors.New("bytes left over")
	}
	return v, nil
}

func TestLEB128EncodesMinimallyAndRoundTrips(t *testing.T) {
	for _, v := range []uint32{0, 1, 63, 64, 127, 128, 16383, 16384, Budget, math.MaxUint32} {
		b := appendU32(nil, v)
		if got, err := decode(b, 32, false); err != nil || uint32(got) != v {
			t.Errorf("u32 %d: encoded % x, decoded %d, %v", v, b, got, err)
		}
		if len(b) > 1 && b[len(b)-1] == 0 {
			t.Errorf("u32 %d: % x is not minimal", v, b)
		}
	}
	for _, v := range []int32{0, 1, -1, 63, 64, -64, -65, Budget, math.MaxInt32, math.MinInt32} {
		b := appendS32(nil, v)
		if got, err := decode(b, 32, true); err != nil || int32(got) != v {
			t.Errorf("s32 %d: encoded % x, decoded %d, %v", v, b, got, err)
		}
		if len(b) > 1 {
			last, prev := b[len(b)-1], b[len(b)-2]
			if (last == 0 && prev&0x40 == 0) || (last == 0x7f && prev&0x40 != 0) {
				t.Errorf("s32 %d: % x is not minimal", v, b)
			}
		}
	}
}
