package api_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/faxseal/faxseal/api"
	"github.com/faxseal/faxseal/jobs"
	"github.com/faxseal/faxseal/store"
	"github.com/faxseal/faxseal/store/storetest"
)

// The inbox's fileUrl serves the PDF with the signed token alone, through the real file-link signer.
func TestInboxFileLink(t *testing.T) {
	t.Parallel()
	s := storetest.New(t)
	ctx := context.Background()
	links := jobs.FileLinks{Key: jobs.FileLinkKey(storetest.SecretKey), BaseURL: "http://placeholder"}
	cfg := api.Config{
		FileURL: func(f store.InboundFax) string { return links.URL(f.ID, f.ReceivedAt) },
		OpenFile: func(ctx context.Context, id, token string) (store.File, error) {
			f, err := links.Open(ctx, s, id, token, time.Now())
			if errors.Is(err, jobs.ErrTokenInvalid) || errors.Is(err, jobs.ErrTokenExpired) {
				return f, fmt.Errorf("%w: %v", api.ErrFileToken, err)
			}
			return f, err
		},
	}
	base := newServer(t, s, cfg)
	e := &env{t: t, store: s, url: base}
	_, key := e.partner("Files", 0)
	e.dids("+14155550123")
	e.do("POST", "/numbers", key, `{"externalUserId":"user_42","areaCode":"415"}`)
	pdf := []byte("%PDF-1.4\n% a fax\n%%EOF\n")
	fax, err := s.InsertReceivedFax(ctx, store.ReceivedFax{FromNumber: "+15125551234", ToNumber: "+14155550123",
		Pages: 1, ReceivedAt: time.Now().Add(-time.Hour), PDF: pdf})
	if err != nil {
		t.Fatal(err)
	}
	r := e.do("GET", "/inbox?externalUserId=user_42", key, "")
	fileURL := r.body["faxes"].([]any)[0].(map[string]any)["fileUrl"].(string)
	u, err := url.Parse(fileURL)
	if err != nil || !strings.HasSuffix(u.Path, "/api/partner/inbox/"+fax.ID+"/file") {
		t.Fatalf("fileUrl %q", fileURL)
	}
	get := func(path string) (*http.Response, []byte) {
		res, err := http.Get(strings.TrimSuffix(base, api.Prefix) + path)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res, b
	}
	res, b := get(u.RequestURI()) // no X-Partner-Key
	if res.StatusCode != 200 || string(b) != string(pdf) || res.Header.Get("Content-Type") != "application/pdf" {
		t.Fatalf("file: %d %q %q", res.StatusCode, res.Header.Get("Content-Type"), b)
	}
	token := u.Query().Get("token")
	for _, tc := range []struct {
		path   string
		status int
		code   string
	}{
		{"/api/partner/inbox/" + fax.ID + "/file", 403, api.CodeInvalidFileToken},
		{"/api/partner/inbox/" + fax.ID + "/file?token=AAAA", 403, api.CodeInvalidFileToken},
		{"/api/partner/inbox/" + fax.ID + "/file?token=" + token[:len(token)-2] + "xx", 403, api.CodeInvalidFileToken},
		{"/api/partner/inbox/fax_other/file?token=" + token, 403, api.CodeInvalidFileToken}, // bound to its fax
	} {
		res, b := get(tc.path)
		if res.StatusCode != tc.status || !strings.Contains(string(b), `"code":"`+tc.code+`"`) {
			t.Errorf("%s: %d %s", tc.path, res.StatusCode, b)
		}
	}
	// Purged: 404.
	if _, err := s.Exec(ctx, `UPDATE files SET data = NULL, purged_at = now() WHERE id = $1`, fax.PDFFileID); err != nil {
		t.Fatal(err)
	}
	res, b = get(u.RequestURI())
	if res.StatusCode != 404 || !strings.Contains(string(b), api.CodeFileNotFound) {
		t.Fatalf("purged file: %d %s", res.StatusCode, b)
	}
	// A server without file serving says so, and the wrong method on the route is a 405.
	plain := &env{t: t, store: s, url: newServer(t, s, api.Config{})}
	plain.do("GET", "/inbox/"+fax.ID+"/file?token="+token, "", "").wantError(t, 404, api.CodeFileNotFound, "")
	plain.do("DELETE", "/inbox/"+fax.ID+"/file?token="+token, "", "").wantError(t, 405, api.CodeMethodNotAllowed, "")
}
