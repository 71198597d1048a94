package t38

import (
	"math/bits"
	"time"

	"github.com/faxseal/faxseal/t30"
)

// dataTypeFor maps a t30 modem and rate to the T.38 data type (T.38 §7.4).
func dataTypeFor(m t30.Modulation, rate int) (DataType, bool) {
	switch {
	case m == t30.V21:
		return DataV21, true
	case m == t30.V27ter && rate == 2400:
		return DataV27ter2400, true
	case m == t30.V27ter && rate == 4800:
		return DataV27ter4800, true
	case m == t30.V29 && rate == 7200:
		return DataV29_7200, true
	case m == t30.V29 && rate == 9600:
		return DataV29_9600, true
	case m == t30.V17 && rate == 7200:
		return DataV17_7200, true
	case m == t30.V17 && rate == 9600:
		return DataV17_9600, true
	case m == t30.V17 && rate == 12000:
		return DataV17_12000, true
	case m == t30.V17 && rate == 14400:
		return DataV17_14400, true
	}
	return 0, false
}

// modemOf is the inverse of dataTypeFor.
func modemOf(d DataType) (t30.Modulation, int, bool) {
	switch d {
	case DataV21:
		return t30.V21, 300, true
	case DataV27ter2400:
		return t30.V27ter, 2400, true
	case DataV27ter4800:
		return t30.V27ter, 4800, true
	case DataV29_7200:
		return t30.V29, 7200, true
	case DataV29_9600:
		return t30.V29, 9600, true
	case DataV17_7200:
		return t30.V17, 7200, true
	case DataV17_9600:
		return t30.V17, 9600, true
	case DataV17_12000:
		return t30.V17, 12000, true
	case DataV17_14400:
		return t30.V17, 14400, true
	}
	return 0, 0, false
}

// trainingIndicator is the indicator announcing a fast modem's training (T.38 §7.3).
func trainingIndicator(m t30.Modulation, rate int, short bool) (Indicator, bool) {
	switch {
	case m == t30.V27ter && rate == 2400:
		return IndicatorV27ter2400Training, true
	case m == t30.V27ter && rate == 4800:
		return IndicatorV27ter4800Training, true
	case m == t30.V29 && rate == 7200:
		return IndicatorV29_7200Training, true
	case m == t30.V29 && rate == 9600:
		return IndicatorV29_9600Training, true
	case m == t30.V17:
		var long Indicator
		switch rate {
		case 7200:
			long = IndicatorV17_7200LongTraining
		case 9600:
			long = IndicatorV17_9600LongTraining
		case 12000:
			long = IndicatorV17_12000LongTraining
		case 14400:
			long = IndicatorV17_14400LongTraining
		default:
			return 0, false
		}
		if short {
			return long - 1, true
		}
		return long, true
	}
	return 0, false
}

// trainedBy reports the modem and rate an indicator trains (ok false for non-training indicators).
func trainedBy(i Indicator) (t30.Modulation, int, bool) {
	switch i {
	case IndicatorV27ter2400Training:
		return t30.V27ter, 2400, true
	case IndicatorV27ter4800Training:
		return t30.V27ter, 4800, true
	case IndicatorV29_7200Training:
		return t30.V29, 7200, true
	case IndicatorV29_9600Training:
		return t30.V29, 9600, true
	case IndicatorV17_7200ShortTraining, IndicatorV17_7200LongTraining:
		return t30.V17, 7200, true
	case IndicatorV17_9600ShortTraining, IndicatorV17_9600LongTraining:
		return t30.V17, 9600, true
	case IndicatorV17_12000ShortTraining, IndicatorV17_12000LongTraining:
		return t30.V17, 12000, true
	case IndicatorV17_14400ShortTraining, IndicatorV17_14400LongTraining:
		return t30.V17, 14400, true
	}
	return 0, 0, false
}

// trainingTime is how long the modem training an indicator announces lasts on the PSTN, the time a
// terminal waits before sending data (spandsp t38_core.c modem_startup_time[]; reference brief §1.6).
// TEP is not sent (we never negotiate it, brief §5 #27).
func trainingTime(i Indicator) time.Duration {
	switch i {
	case IndicatorV27ter2400Training:
		return 943 * time.Millisecond
	case IndicatorV27ter4800Training:
		return 708 * time.Millisecond
	case IndicatorV29_7200Training, IndicatorV29_9600Training:
		return 234 * time.Millisecond
	case IndicatorV17_7200ShortTraining, IndicatorV17_9600ShortTraining, IndicatorV17_12000ShortTraining,
		IndicatorV17_14400ShortTraining:
		return 142 * time.Millisecond
	case IndicatorV17_7200LongTraining, IndicatorV17_9600LongTraining, IndicatorV17_12000LongTraining,
		IndicatorV17_14400LongTraining:
		return 1393 * time.Millisecond
	}
	return 0
}

// bitTime is the line time of n bits at rate bit/s.
func bitTime(n, rate int) time.Duration {
	return time.Duration(int64(n) * int64(time.Second) / int64(rate))
}

// appendReversed appends src with every octet bit-reversed: t30 works LSB-first, T.38 carries the
// first bit on the line in the MSB (T.38 §7.1.1, reference brief §1.3).
func appendReversed(dst, src []byte) []byte {
	for _, b := range src {
		dst = append(dst, bits.Reverse8(b))
	}
	return dst
}

// stuffedBits counts the zero bits HDLC inserts into frame plus its FCS (T.30 §5.3.7: a 0 after five
// consecutive 1s), for pacing a frame at its true line length (spandsp t38_terminal.c adds the
// stuffing allowance the same way).
func stuffedBits(frame []byte) int {
	crc := uint16(0xFFFF)
	ones, n := 0, 0
	count := func(b byte) {
		for i := 0; i < 8; i++ {
			if b>>i&1 != 0 {
				ones++
				if ones == 5 {
					n++
					ones = 0
				}
			} else {
				ones = 0
			}
		}
	}
	for _, b := range frame {
		crc ^= uint16(b)
		for i := 0; i < 8; i++ {
			if crc&1 != 0 {
				crc = crc>>1 ^ 0x8408
			} else {
				crc >>= 1
			}
		}
		count(b)
	}
	crc ^= 0xFFFF
	count(byte(crc))
	count(byte(crc >> 8))
	return n
}
