// Package ocr reads the text of received fax pages with Tesseract (through gosseract, cgo).
//
// # Threads
//
// Tesseract parallelises inside one page with OpenMP. On a small machine those threads spin
// against each other and against the rest of the server: a dense page measured 21 s with OpenMP's
// default against 2.8 s single-threaded on 2 cores. So every client here is single-threaded and
// parallelism comes from a bounded Pool of clients, one page per client at a time.
//
// OpenMP (libgomp) reads OMP_THREAD_LIMIT once, in a constructor that runs when the shared library is
// loaded, which for a cgo binary is before main: os.Setenv is too late. The variable must be in the
// environment the process starts with. NewPool refuses to start without it; a binary can call
// ReexecSingleThreaded first thing in main (or in TestMain) to restart itself with it set. The
// Makefile exports it for `make test` and `make run`.
package ocr

import (
	"context"
	"errors"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"

	"github.com/otiai10/gosseract/v2"
)

// ThreadLimitEnv is the variable that must be "1" in the process environment at start.
const ThreadLimitEnv = "OMP_THREAD_LIMIT"

// ErrThreadLimit is returned by NewPool when OMP_THREAD_LIMIT=1 was not set at process start.
var ErrThreadLimit = errors.New("ocr: " + ThreadLimitEnv + "=1 must be in the environment before the process starts " +
	"(OpenMP reads it when libtesseract loads; a multi-threaded Tesseract is ~8x slower on small machines)")

// ErrClosed is returned for work submitted to a closed Pool.
var ErrClosed = errors.New("ocr: pool closed")

// SingleThreaded reports whether the process started with OMP_THREAD_LIMIT=1.
func SingleThreaded() bool { return os.Getenv(ThreadLimitEnv) == "1" }

// ReexecSingleThreaded restarts the running binary, with the same arguments and environment plus
// OMP_THREAD_LIMIT=1, unless it already has it. On success it does not return. Call it before
// anything else in main or TestMain: the process is replaced, so nothing done before survives.
func ReexecSingleThreaded() error {
	if SingleThreaded() {
		return nil
	}
	exe, err := os.Executable()
	if err != nil {
		return fmt.Errorf("ocr: re-exec with %s=1: %w", ThreadLimitEnv, err)
	}
	env := make([]string, 0, len(os.Environ())+1)
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, ThreadLimitEnv+"=") {
			env = append(env, kv)
		}
	}
	env = append(env, ThreadLimitEnv+"=1")
	return fmt.Errorf("ocr: re-exec with %s=1: %w", ThreadLimitEnv, syscall.Exec(exe, os.Args, env))
}

// Options configures a Pool.
type Options struct {
	// Size is the number of Tesseract clients, the bound on pages read at once. 0 means
	// GOMAXPROCS: each client keeps one core busy.
	Size int
	// Languages are tessdata language codes; nil means English ("eng", Debian tesseract-ocr-eng).
	Languages []string
}

// Pool is a bounded set of single-threaded Tesseract clients. It is safe for concurrent use; each
// client is used by one goroutine at a time.
type Pool struct {
	idle   chan *gosseract.Client
	mu     sync.Mutex
	all    []*gosseract.Client
	closed bool
	done   chan struct{}
}

// NewPool creates the clients. Tesseract loads its model on a client's first page, so creation
// is cheap and a bad language shows up as an error from the first Page.
func NewPool(opts Options) (*Pool, error) {
	if !SingleThreaded() {
		return nil, ErrThreadLimit
	}
	n := opts.Size
	if n <= 0 {
		n = runtime.GOMAXPROCS(0)
	}
	langs := opts.Languages
	if len(langs) == 0 {
		langs = []string{"eng"}
	}
	p := &Pool{idle: make(chan *gosseract.Client, n), done: make(chan struct{})}
	for range n {
		c := gosseract.NewClient()
		if err := c.SetLanguage(langs...); err != nil {
			c.Close()
			p.Close()
			return nil, fmt.Errorf("ocr: %w", err)
		}
		// The bitmap carries no resolution (PNM has none); tell Tesseract the real one, which its
		// layout analysis uses to judge text size.
		c.SetVariable("user_defined_dpi", strconv.Itoa(ocrDPI))
		p.all = append(p.all, c)
		p.idle <- c
	}
	return p, nil
}

// Size is the number of clients.
func (p *Pool) Size() int { return cap(p.idle) }

// Close releases the clients, waiting for pages in progress.
func (p *Pool) Close() error {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil
	}
	p.closed = true
	close(p.done)
	p.mu.Unlock()
	for range p.all {
		c := <-p.idle
		c.Close()
	}
	return nil
}

// Page reads one page, waiting for a free client as long as ctx allows. The text is valid UTF-8. Tesseract itself cannot be
// interrupted: a page that has started runs to the end (a few seconds).
func (p *Pool) Page(ctx context.Context, pg Page) (string, error) {
	img, err := pg.tesseractImage()
	if err != nil {
		return "", err
	}
	var c *gosseract.Client
	select {
	case <-ctx.Done():
		return "", ctx.Err()
	case <-p.done:
		return "", ErrClosed
	case c = <-p.idle:
	}
	defer func() { p.idle <- c }()
	select {
	case <-p.done:
		return "", ErrClosed
	default:
	}
	if err := c.SetImageFromBytes(img); err != nil {
		return "", fmt.Errorf("ocr: %w", err)
	}
	text, err := c.Text()
	if err != nil {
		return "", fmt.Errorf("ocr: %w", err)
	}
	// Stored in a PostgreSQL text column and sent as JSON: valid UTF-8 without NUL, whatever a
	// traineddata file may produce.
	return strings.ReplaceAll(strings.ToValidUTF8(text, "\uFFFD"), "\x00", ""), nil
}

// Pages reads every page, as many at once as the pool has clients, and returns the texts in page
// order. The first error cancels the pages not yet started.
func (p *Pool) Pages(ctx context.Context, pages []Page) ([]string, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	texts := make([]string, len(pages))
	errs := make([]error, len(pages))
	var wg sync.WaitGroup
	for i := range pages {
		wg.Add(1)
		go func() {
			defer wg.Done()
			texts[i], errs[i] = p.Page(ctx, pages[i])
			if errs[i] != nil {
				cancel()
			}
		}()
	}
	wg.Wait()
	// Report the page that failed, not the pages its failure cancelled.
	var first error
	for i, err := range errs {
		if err == nil {
			continue
		}
		e := fmt.Errorf("ocr: page %d: %w", i+1, err)
		if !errors.Is(err, context.Canceled) {
			return nil, e
		}
		if first == nil {
			first = e
		}
	}
	if first != nil {
		return nil, first
	}
	return texts, nil
}

// Join renders per-page texts as one document, pages separated by a form feed (the convention of
// Tesseract's own text output), which full-text search treats as whitespace.
func Join(texts []string) string { return strings.Join(texts, "\n\f\n") }
