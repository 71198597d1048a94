package fax

import (
	"bytes"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"testing"
	"unicode/utf8"

	"github.com/faxseal/faxseal/store"
)

func multipartBody(fields map[string]string, file []byte) (string, []byte) {
	var b bytes.Buffer
	mw := multipart.NewWriter(&b)
	for k, v := range fields {
		mw.WriteField(k, v)
	}
	if file != nil {
		fw, _ := mw.CreateFormFile("file", "a.pdf")
		fw.Write(file)
	}
	mw.Close()
	return mw.Boundary(), b.Bytes()
}

// FuzzDecodeForm feeds arbitrary multipart bodies to the form decoder and validation: they must
// not panic, and whatever they accept is within the limits the pipeline relies on.
func FuzzDecodeForm(f *testing.F) {
	bnd, body := multipartBody(map[string]string{"toNumber": "+12125550001", "externalUserId": "user_42"}, []byte("%PDF-1.4\n"))
	f.Add(bnd, body)
	bnd, body = multipartBody(map[string]string{"toNumber": "+1", "callbackUrl": "https://x.test/cb", "callbackSecret": "whsec_12345"}, nil)
	f.Add(bnd, body)
	f.Add("x", []byte("--x\r\nContent-Disposition: form-data; name=\"file\"\r\n\r\n%PDF\r\n--x--\r\n"))
	h := &handlers{cfg: Config{MaxBytes: 1 << 16}}
	f.Fuzz(func(t *testing.T, boundary string, body []byte) {
		r := httptest.NewRequest(http.MethodPost, "/api/partner/fax", bytes.NewReader(body))
		r.Header.Set("Content-Type", "multipart/form-data; boundary=\""+boundary+"\"")
		var req request
		if err := h.decodeMultipart(httptest.NewRecorder(), r, &req); err != nil {
			return
		}
		if int64(len(req.PDF)) > h.cfg.MaxBytes {
			t.Fatalf("accepted a %d-byte file over the %d limit", len(req.PDF), h.cfg.MaxBytes)
		}
		for _, v := range []string{req.ToNumber, req.ExternalUserID, req.CallbackURL, req.CallbackSecret} {
			if len(v) > maxField {
				t.Fatalf("accepted a %d-byte field", len(v))
			}
		}
		if err := h.validate(&req); err != nil {
			return
		}
		if !store.IsE164(req.ToNumber) || req.ExternalUserID == "" || !utf8.ValidString(req.ExternalUserID) || len(req.PDF) == 0 {
			t.Fatalf("validated %+v", req)
		}
	})
}
