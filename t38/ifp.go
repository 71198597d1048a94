package t38

import (
	"errors"
	"fmt"
)

// Syntax selects the ASN.1 module an IFP is encoded with (T.38 Annex A). The two differ by a single
// extension bit on field-type, which makes them mutually unreadable.
type Syntax uint8

const (
	// Syntax1998 is the pre-corrigendum module: field-type is a plain 3-bit enumeration. Used for
	// T38FaxVersion 0 and 1 (Cisco IOS and most SIP peers require it for 0; spandsp wrongly uses 2002
	// for version 1, see the reference brief §0).
	Syntax1998 Syntax = iota + 1
	// Syntax2002 is the corrected module: field-type is extensible (1 extension bit + 3 bits). Used
	// for T38FaxVersion 2 and above.
	Syntax2002
)

// SyntaxForVersion maps a negotiated T38FaxVersion to the IFP syntax (T.38 Annex A; versions 0 and 1
// predate the 2002 corrigendum).
func SyntaxForVersion(version int) Syntax {
	if version >= 2 {
		return Syntax2002
	}
	return Syntax1998
}

func (s Syntax) String() string {
	switch s {
	case Syntax1998:
		return "1998"
	case Syntax2002:
		return "2002"
	}
	return fmt.Sprintf("Syntax(%d)", uint8(s))
}

// Indicator is a T.38 t30-indicator value (T.38 §7.3). The zero value is invalid; the wire code is
// the value minus one.
type Indicator uint8

const (
	IndicatorNoSignal Indicator = iota + 1
	IndicatorCNG
	IndicatorCED
	IndicatorV21Preamble
	IndicatorV27ter2400Training
	IndicatorV27ter4800Training
	IndicatorV29_7200Training
	IndicatorV29_9600Training
	IndicatorV17_7200ShortTraining
	IndicatorV17_7200LongTraining
	IndicatorV17_9600ShortTraining
	IndicatorV17_9600LongTraining
	IndicatorV17_12000ShortTraining
	IndicatorV17_12000LongTraining
	IndicatorV17_14400ShortTraining
	IndicatorV17_14400LongTraining
	// Extension values (after the "..." of the enumeration, T.38 2002 and later).
	IndicatorV8ANSam
	IndicatorV8Signal
	IndicatorV34CntlChannel1200
	IndicatorV34PriChannel
	IndicatorV34CCRetrain
	IndicatorV33_12000Training
	IndicatorV33_14400Training
	indicatorEnd
)

const indicatorRootCount = 16 // values before the extension marker

var indicatorNames = [...]string{"", "no-signal", "cng", "ced", "v21-preamble", "v27-2400-training",
	"v27-4800-training", "v29-7200-training", "v29-9600-training", "v17-7200-short-training",
	"v17-7200-long-training", "v17-9600-short-training", "v17-9600-long-training",
	"v17-12000-short-training", "v17-12000-long-training", "v17-14400-short-training",
	"v17-14400-long-training", "v8-ansam", "v8-signal", "v34-cntl-channel-1200", "v34-pri-channel",
	"v34-CC-retrain", "v33-12000-training", "v33-14400-training"}

func (i Indicator) String() string {
	if i > 0 && i < indicatorEnd {
		return indicatorNames[i]
	}
	return fmt.Sprintf("Indicator(%d)", uint8(i))
}

// DataType is a T.38 t30-data value (T.38 §7.4): the modulation the data was carried on. The zero
// value is invalid; the wire code is the value minus one.
type DataType uint8

const (
	DataV21 DataType = iota + 1
	DataV27ter2400
	DataV27ter4800
	DataV29_7200
	DataV29_9600
	DataV17_7200
	DataV17_9600
	DataV17_12000
	DataV17_14400
	// Extension values.
	DataV8
	DataV34PriRate
	DataV34CC1200
	DataV34PriCh
	DataV33_12000
	DataV33_14400
	dataTypeEnd
)

const dataTypeRootCount = 9

var dataTypeNames = [...]string{"", "v21", "v27-2400", "v27-4800", "v29-7200", "v29-9600", "v17-7200",
	"v17-9600", "v17-12000", "v17-14400", "v8", "v34-pri-rate", "v34-CC-1200", "v34-pri-ch", "v33-12000",
	"v33-14400"}

func (d DataType) String() string {
	if d > 0 && d < dataTypeEnd {
		return dataTypeNames[d]
	}
	return fmt.Sprintf("DataType(%d)", uint8(d))
}

// FieldType is a T.38 data field type (T.38 §7.4.1). The zero value is invalid; the wire code is the
// value minus one.
type FieldType uint8

const (
	FieldHDLCData FieldType = iota + 1
	FieldHDLCSigEnd
	FieldHDLCFCSOK
	FieldHDLCFCSBad
	FieldHDLCFCSOKSigEnd
	FieldHDLCFCSBadSigEnd
	FieldT4NonECMData
	FieldT4NonECMSigEnd
	// Extension values, 2002 syntax only (V.34).
	FieldCMMessage
	FieldJMMessage
	FieldCIMessage
	FieldV34Rate
	fieldTypeEnd
)

const fieldTypeRootCount = 8

var fieldTypeNames = [...]string{"", "hdlc-data", "hdlc-sig-end", "hdlc-fcs-OK", "hdlc-fcs-BAD",
	"hdlc-fcs-OK-sig-end", "hdlc-fcs-BAD-sig-end", "t4-non-ecm-data", "t4-non-ecm-sig-end", "cm-message",
	"jm-message", "ci-message", "v34rate"}

func (f FieldType) String() string {
	if f > 0 && f < fieldTypeEnd {
		return fieldTypeNames[f]
	}
	return fmt.Sprintf("FieldType(%d)", uint8(f))
}

// needsData reports whether a field of this type is meaningless without field-data.
func (f FieldType) needsData() bool { return f == FieldHDLCData || f == FieldT4NonECMData }

// Field is one element of an IFP data-field. After Unmarshal, Data aliases the decoded buffer. Data
// octets are in T.38 order: the first bit sent on the PSTN is the MSB (T.38 §7.1.1).
type Field struct {
	Type FieldType
	Data []byte // nil or empty: field-data absent
}

// IFP is one Internet Facsimile Protocol packet (T.38 §7, Annex A IFPPacket). Exactly one of
// Indicator and Data is set. An indicator packet carries no fields.
type IFP struct {
	Indicator Indicator
	Data      DataType
	Fields    []Field
}

// Errors returned by the IFP codec; decode errors wrap ErrInvalidIFP.
var (
	ErrInvalidIFP = errors.New("t38: invalid IFP packet")
	errIFPType    = errors.New("t38: IFP must set exactly one of Indicator and Data")
)

func (p *IFP) String() string {
	if p.Indicator != 0 {
		return "indicator " + p.Indicator.String()
	}
	s := "data " + p.Data.String()
	for _, f := range p.Fields {
		s += fmt.Sprintf(" [%s %d]", f.Type, len(f.Data))
	}
	return s
}

// check validates p for encoding in syntax s.
func (p *IFP) check(s Syntax) error {
	switch {
	case (p.Indicator == 0) == (p.Data == 0):
		return errIFPType
	case p.Indicator >= indicatorEnd:
		return fmt.Errorf("t38: cannot encode %v", p.Indicator)
	case p.Data >= dataTypeEnd:
		return fmt.Errorf("t38: cannot encode %v", p.Data)
	case p.Indicator != 0 && len(p.Fields) > 0:
		return errors.New("t38: indicator packet cannot carry data fields")
	case s != Syntax1998 && s != Syntax2002:
		return fmt.Errorf("t38: unknown IFP syntax %v", s)
	case s == Syntax1998 && (p.Indicator > indicatorRootCount || p.Data > dataTypeRootCount):
		// The 1998 peers predate the extension values (reference brief §1.2: "v0 cannot send").
		return fmt.Errorf("t38: %v not encodable in the 1998 syntax", p)
	case len(p.Fields) >= 16384:
		return errors.New("t38: too many fields in one IFP")
	}
	for _, f := range p.Fields {
		switch {
		case f.Type == 0 || f.Type >= fieldTypeEnd:
			return fmt.Errorf("t38: cannot encode %v", f.Type)
		case s == Syntax1998 && f.Type > fieldTypeRootCount:
			return fmt.Errorf("t38: %v not encodable in the 1998 syntax", f.Type)
		case len(f.Data) > 65535:
			return errors.New("t38: field-data longer than 65535 octets")
		}
	}
	return nil
}

// MarshalSize returns the encoded length of p in syntax s (for valid p).
func (p *IFP) MarshalSize(s Syntax) int {
	if p.Indicator != 0 {
		if p.Indicator > indicatorRootCount {
			return 2
		}
		return 1
	}
	n := 1
	if p.Data > dataTypeRootCount {
		n = 2
	}
	if len(p.Fields) == 0 {
		return n
	}
	n += lengthDetSize(len(p.Fields))
	bits := 0 // bits used in a partly filled octet of bit-packed data-less fields
	for _, f := range p.Fields {
		w := 4
		if s == Syntax2002 {
			w = 5
			if f.Type > fieldTypeRootCount {
				w = 2 + 7 // present bit, extension bit, normally small number
			}
		}
		if bits == 0 {
			n += (w + 7) / 8
			bits = w % 8
		} else {
			free := 8 - bits
			if w > free {
				n += (w - free + 7) / 8
			}
			bits = (bits + w) % 8
		}
		if len(f.Data) > 0 {
			n += 2 + len(f.Data)
			bits = 0
		}
	}
	return n
}

// Marshal encodes p in syntax s into a new slice.
func (p *IFP) Marshal(s Syntax) ([]byte, error) {
	return p.Append(make([]byte, 0, p.MarshalSize(s)), s)
}

// Append appends the encoding of p in syntax s to dst. It does not allocate when dst has
// MarshalSize(s) spare capacity.
func (p *IFP) Append(dst []byte, s Syntax) ([]byte, error) {
	if err := p.check(s); err != nil {
		return dst, err
	}
	w := bitWriter{b: dst}
	// IFPPacket SEQUENCE preamble: data-field OPTIONAL present bit; then the Type-of-msg CHOICE index.
	w.bits(b2u(len(p.Fields) > 0), 1)
	if p.Indicator != 0 {
		w.bits(0, 1)
		writeEnum(&w, uint32(p.Indicator-1), indicatorRootCount, 4)
		return w.b, nil
	}
	w.bits(1, 1)
	writeEnum(&w, uint32(p.Data-1), dataTypeRootCount, 4)
	if len(p.Fields) == 0 {
		return w.b, nil
	}
	w.lengthDet(len(p.Fields))
	for _, f := range p.Fields {
		// Field SEQUENCE preamble (field-data OPTIONAL), then field-type. In strict aligned PER a
		// data-less field is not padded, so consecutive data-less fields share an octet; the terminal
		// only ever puts a data-less field last (reference brief §1.2, spandsp disagrees with itself).
		w.bits(b2u(len(f.Data) > 0), 1)
		if s == Syntax2002 {
			writeEnum(&w, uint32(f.Type-1), fieldTypeRootCount, 3)
		} else {
			w.bits(uint32(f.Type-1), 3)
		}
		if len(f.Data) > 0 {
			// OCTET STRING (SIZE(1..65535)): a constrained length with range 65535 is a 16-bit aligned
			// field holding length-1 (X.691 §10.9.4.1, §10.5.7.3).
			w.align()
			n := len(f.Data) - 1
			w.b = append(w.b, byte(n>>8), byte(n))
			w.b = append(w.b, f.Data...)
			w.align()
		}
	}
	return w.b, nil
}

// writeEnum writes an extensible ENUMERATED (X.691 §13.3): extension bit, then the root index in
// rootBits bits, or for extension values a normally small non-negative whole number (§10.6: 0 + 6 bits).
func writeEnum(w *bitWriter, v uint32, root uint32, rootBits int) {
	if v < root {
		w.bits(0, 1)
		w.bits(v, rootBits)
		return
	}
	w.bits(1, 1)
	w.bits(0, 1)
	w.bits(v-root, 6)
}

func readEnum(r *bitReader, root uint32, rootBits int) (uint32, error) {
	ext, err := r.bits(1)
	if err != nil {
		return 0, err
	}
	if ext == 0 {
		v, err := r.bits(rootBits)
		if err != nil {
			return 0, err
		}
		if v >= root {
			return 0, fmt.Errorf("%w: enumeration index %d outside root", ErrInvalidIFP, v)
		}
		return v, nil
	}
	big, err := r.bits(1)
	if err != nil {
		return 0, err
	}
	if big != 0 {
		return 0, fmt.Errorf("%w: extension value >= 64", ErrInvalidIFP)
	}
	v, err := r.bits(6)
	return root + v, err
}

func b2u(b bool) uint32 {
	if b {
		return 1
	}
	return 0
}

// Unmarshal decodes an IFP in syntax s into p, reusing p.Fields. Field data aliases b.
//
// Tolerances (reference brief §1.2, spandsp src/t38_core.c): trailing zero octets are accepted (FEC
// repair zero-extends packets, T.38 Annex C); a data-less field followed by more fields is decoded
// strictly bit-packed, and when that reading is impossible or meaningless (a data-carrying field type
// without data) the octet-padded layout some encoders use (spandsp) is tried instead. Unknown
// extension values are errors, so the caller can drop the packet and continue the call.
func (p *IFP) Unmarshal(b []byte, s Syntax) error {
	if s != Syntax1998 && s != Syntax2002 {
		return fmt.Errorf("t38: unknown IFP syntax %v", s)
	}
	suspicious, err := p.unmarshal(b, s, false)
	if err == nil && !suspicious {
		return nil
	}
	strictErr := err
	if suspicious2, err2 := p.unmarshal(b, s, true); err2 == nil && !suspicious2 {
		return nil
	}
	if strictErr == nil {
		// Both readings are odd; keep the strict one, which is what the standard says.
		_, err = p.unmarshal(b, s, false)
		return err
	}
	return strictErr
}

func (p *IFP) unmarshal(b []byte, s Syntax, padDataless bool) (suspicious bool, err error) {
	p.Indicator, p.Data, p.Fields = 0, 0, p.Fields[:0]
	defer func() {
		if errors.Is(err, errShort) || errors.Is(err, errFragmented) {
			err = fmt.Errorf("%w: %w", ErrInvalidIFP, err)
		}
	}()
	r := bitReader{b: b}
	hdr, err := r.bits(2)
	if err != nil {
		return false, err
	}
	hasData, isData := hdr>>1 != 0, hdr&1 != 0
	if !isData {
		v, err := readEnum(&r, indicatorRootCount, 4)
		if err != nil {
			return false, err
		}
		if v >= uint32(indicatorEnd-1) {
			return false, fmt.Errorf("%w: unknown indicator %d", ErrInvalidIFP, v)
		}
		if hasData {
			// T.38 §7.3: indicators carry no data (spandsp rejects the packet).
			return false, fmt.Errorf("%w: indicator with data field", ErrInvalidIFP)
		}
		p.Indicator = Indicator(v + 1)
		return false, checkTail(&r)
	}
	v, err := readEnum(&r, dataTypeRootCount, 4)
	if err != nil {
		return false, err
	}
	if v >= uint32(dataTypeEnd-1) {
		return false, fmt.Errorf("%w: unknown data type %d", ErrInvalidIFP, v)
	}
	p.Data = DataType(v + 1)
	if !hasData {
		return false, checkTail(&r)
	}
	n, err := r.lengthDet()
	if err != nil {
		return false, err
	}
	if n == 0 {
		return false, fmt.Errorf("%w: empty data-field", ErrInvalidIFP)
	}
	for i := 0; i < n; i++ {
		present, err := r.bits(1)
		if err != nil {
			return false, err
		}
		var ft uint32
		if s == Syntax2002 {
			ft, err = readEnum(&r, fieldTypeRootCount, 3)
		} else {
			ft, err = r.bits(3)
		}
		if err != nil {
			return false, err
		}
		if ft >= uint32(fieldTypeEnd-1) {
			return false, fmt.Errorf("%w: unknown field type %d", ErrInvalidIFP, ft)
		}
		f := Field{Type: FieldType(ft + 1)}
		if present != 0 {
			r.align()
			l, err := r.bits(16)
			if err != nil {
				return false, err
			}
			if f.Data, err = r.bytes(int(l) + 1); err != nil {
				return false, err
			}
		} else {
			if f.Type.needsData() {
				suspicious = true
			}
			if padDataless {
				r.align()
			}
		}
		p.Fields = append(p.Fields, f)
	}
	return suspicious, checkTail(&r)
}

// checkTail accepts only zero padding after the last field.
func checkTail(r *bitReader) error {
	if !r.restZero() {
		return fmt.Errorf("%w: %d trailing octets", ErrInvalidIFP, len(r.b)-r.octet())
	}
	return nil
}
