package tests

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/anishathalye/porcupine"
	"github.com/minio/minio-go/v7"
)

// The porcupine model of the bucket table, as the linearizability tests
// (linearizability_test.go) see it through S3: a few fixed bucket names,
// each there or not.

// linBuckets are the names the linearizability tests use; bucket b of the
// model is linBuckets[b].
var linBuckets = [...]string{"lin-a", "lin-b", "lin-c", "lin-d"}

type linKind uint8

const (
	linCreate linKind = iota // CreateBucket
	linDelete                // DeleteBucket
	linHead                  // HeadBucket
	linList                  // ListBuckets
)

var linKindNames = [...]string{"create", "delete", "head", "list"}

type linResult uint8

const (
	linOK      linResult = iota // create or delete: done
	linExists                   // create: 409 (the bucket is there); head: 200
	linMissing                  // delete: NoSuchBucket; head: 404
	linUnknown                  // create or delete: 503, timeout, connection error: done or not
	linListed                   // list: Output.Set holds the names listed
)

var linResultNames = [...]string{"ok", "exists", "missing", "unknown", "listed"}

// linInput is an operation's input: Bucket is an index of linBuckets
// (unused by a list).
type linInput struct {
	Kind   linKind
	Bucket int
}

// linOutput is an operation's outcome; for a list, Set has bit b for each
// linBuckets[b] listed.
type linOutput struct {
	Result linResult
	Set    uint8
}

// linTables is the model's state: the set of bucket tables the history
// linearized so far allows, bit t standing for table t (whose bit b says
// whether bucket b exists). It is porcupine's NondeterministicModel power
// set construction, held in one uint16: an operation whose outcome is
// unknown may have taken effect or not, so it leaves both tables allowed,
// and later reads narrow the set down.
type linTables uint16

// linStepTable returns the tables that may follow table t when in answers
// out (none: t does not allow that answer).
func linStepTable(t uint8, in linInput, out linOutput) linTables {
	bit := uint8(1) << in.Bucket
	has := t&bit != 0
	one := func(x uint8) linTables { return linTables(1) << x }
	switch in.Kind {
	case linCreate:
		switch {
		case out.Result == linOK && !has:
			return one(t | bit)
		case out.Result == linExists && has:
			return one(t)
		case out.Result == linUnknown:
			return one(t) | one(t|bit)
		}
	case linDelete:
		switch {
		case out.Result == linOK && has:
			return one(t &^ bit)
		case out.Result == linMissing && !has:
			return one(t)
		case out.Result == linUnknown:
			return one(t) | one(t&^bit)
		}
	case linHead:
		if (out.Result == linExists) == has {
			return one(t)
		}
	case linList:
		if out.Set == t {
			return one(t)
		}
	}
	return 0
}

// linModel: the table starts empty (the tests start new clusters).
var linModel = porcupine.Model{
	Init: func() any { return linTables(1) },
	Step: func(state, input, output any) (bool, any) {
		s, in, out := state.(linTables), input.(linInput), output.(linOutput)
		var next linTables
		for t := range 1 << len(linBuckets) {
			if s&(1<<t) != 0 {
				next |= linStepTable(uint8(t), in, out)
			}
		}
		return next != 0, next
	},
	Hash: func(state any) uint64 { return uint64(state.(linTables)) },
	DescribeOperation: func(input, output any) string {
		in, out := input.(linInput), output.(linOutput)
		if in.Kind == linList {
			return "list → " + linSetString(out.Set)
		}
		return fmt.Sprintf("%s(%s) → %s", linKindNames[in.Kind], linBuckets[in.Bucket], linResultNames[out.Result])
	},
	DescribeState: func(state any) string {
		s := state.(linTables)
		var alts []string
		for t := range 1 << len(linBuckets) {
			if s&(1<<t) != 0 {
				alts = append(alts, linSetString(uint8(t)))
			}
		}
		return strings.Join(alts, " or ")
	},
	DescribeOperationMetadata: func(info any) string { s, _ := info.(string); return s },
}

func linSetString(set uint8) string {
	var names []string
	for b, name := range linBuckets {
		if set&(1<<b) != 0 {
			names = append(names, name)
		}
	}
	return "{" + strings.Join(names, ",") + "}"
}

// linHistory records operations as porcupine wants them: call and return
// times in nanoseconds since start. An operation whose outcome is unknown
// gets its Return at the end of the history (close): it may take effect
// at any time after its call.
type linHistory struct {
	start time.Time

	mu      sync.Mutex
	ops     []porcupine.Operation
	counts  map[string]int // "create ok" -> how many
	errs    map[string]int // "create through gateway2: ServiceUnavailable" -> how many
	dropped int            // reads that failed: they observed nothing
}

func newLinHistory() *linHistory {
	return &linHistory{start: time.Now(), counts: map[string]int{}, errs: map[string]int{}}
}

func (h *linHistory) now() int64 { return time.Since(h.start).Nanoseconds() }

// run does in through gateway gw (its name in gwName) for client and
// records it: a read that failed is dropped (run reports false), a change
// that failed other than with its expected S3 code is unknown.
func (h *linHistory) run(ctx context.Context, client int, gw *minio.Client, gwName string, in linInput) bool {
	call := h.now()
	out, err := linDo(ctx, gw, in)
	ret := h.now()
	h.mu.Lock()
	defer h.mu.Unlock()
	if err != nil {
		code := minio.ToErrorResponse(err).Code
		switch {
		case errors.Is(err, context.DeadlineExceeded) || errors.Is(ctx.Err(), context.DeadlineExceeded):
			code = "timeout"
		case code == "":
			code = err.Error()
			if len(code) > 50 {
				code = code[:50]
			}
		}
		h.errs[fmt.Sprintf("%s through %s: %s", linKindNames[in.Kind], gwName, code)]++
	}
	if err != nil && (in.Kind == linHead || in.Kind == linList) {
		h.dropped++
		return false
	}
	h.counts[linKindNames[in.Kind]+" "+linResultNames[out.Result]]++
	h.ops = append(h.ops, porcupine.Operation{ClientId: client, Input: in, Call: call, Output: out, Return: ret,
		Metadata: fmt.Sprintf("client %d via %s, %.3fs–%.3fs", client, gwName, float64(call)/1e9, float64(ret)/1e9)})
	return true
}

// linDo does one operation. For a change, a nil error with Result
// linUnknown never happens: an error makes it unknown unless it is the
// S3 answer that says what happened.
func linDo(ctx context.Context, gw *minio.Client, in linInput) (linOutput, error) {
	name := ""
	if in.Kind != linList {
		name = linBuckets[in.Bucket]
	}
	switch in.Kind {
	case linCreate:
		err := gw.MakeBucket(ctx, name, minio.MakeBucketOptions{})
		switch code := minio.ToErrorResponse(err).Code; {
		case err == nil:
			return linOutput{Result: linOK}, nil
		case code == "BucketAlreadyOwnedByYou" || code == "BucketAlreadyExists":
			return linOutput{Result: linExists}, nil
		}
		return linOutput{Result: linUnknown}, err
	case linDelete:
		err := gw.RemoveBucket(ctx, name)
		switch {
		case err == nil:
			return linOutput{Result: linOK}, nil
		case minio.ToErrorResponse(err).Code == "NoSuchBucket":
			return linOutput{Result: linMissing}, nil
		}
		return linOutput{Result: linUnknown}, err
	case linHead:
		ok, err := gw.BucketExists(ctx, name)
		if ok {
			return linOutput{Result: linExists}, err
		}
		return linOutput{Result: linMissing}, err
	}
	bs, err := gw.ListBuckets(ctx)
	out := linOutput{Result: linListed}
	for _, b := range bs {
		found := false
		for i, name := range linBuckets {
			if b.Name == name {
				out.Set |= 1 << i
				found = true
			}
		}
		if !found && err == nil {
			err = fmt.Errorf("ListBuckets lists %q, which no client creates", b.Name)
		}
	}
	return out, err
}

// close ends the history: unknown outcomes return after everything else.
func (h *linHistory) close() []porcupine.Operation {
	h.mu.Lock()
	defer h.mu.Unlock()
	end := h.now() + 1
	ops := make([]porcupine.Operation, len(h.ops))
	for i, op := range h.ops {
		if op.Output.(linOutput).Result == linUnknown {
			op.Return = end
		}
		ops[i] = op
	}
	return ops
}

// summary describes the history: operations by kind and outcome, failed
// operations by kind.
func (h *linHistory) summary() string {
	h.mu.Lock()
	defer h.mu.Unlock()
	var b strings.Builder
	fmt.Fprintf(&b, "%d operations in the history, %d failed reads dropped\n", len(h.ops), h.dropped)
	fmt.Fprintf(&b, "  by outcome: %s\n", linCounts(h.counts))
	if len(h.errs) > 0 {
		fmt.Fprintf(&b, "  errors: %s\n", linCounts(h.errs))
	}
	return b.String()
}

func linCounts(m map[string]int) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var parts []string
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%s: %d", k, m[k]))
	}
	return strings.Join(parts, ", ")
}

// linCheck checks ops (bounded by timeout) and describes the verdict;
// for a history that is not linearizable, it names the operations
// around the point where the longest linearization found got stuck.
func linCheck(ops []porcupine.Operation, timeout time.Duration) (porcupine.CheckResult, porcupine.LinearizationInfo, string) {
	start := time.Now()
	res, info := porcupine.CheckOperationsVerbose(linModel, ops, timeout)
	verdict := fmt.Sprintf("porcupine: %s (%d operations, checked in %v)", res, len(ops), time.Since(start).Round(time.Millisecond))
	if res != porcupine.Illegal {
		return res, info, verdict
	}
	// The longest partial linearization: the operations it could not
	// place are where the history goes wrong.
	var longest []int
	for _, part := range info.PartialLinearizations() {
		for _, lin := range part {
			if len(lin) > len(longest) {
				longest = lin
			}
		}
	}
	placed := map[int]bool{}
	for _, i := range longest {
		placed[i] = true
	}
	var unplaced []int
	for i := range ops {
		if !placed[i] {
			unplaced = append(unplaced, i)
		}
	}
	sort.Slice(unplaced, func(a, b int) bool { return ops[unplaced[a]].Call < ops[unplaced[b]].Call })
	describe := func(i int) string {
		return fmt.Sprintf("%s  [%s]", linModel.DescribeOperation(ops[i].Input, ops[i].Output), ops[i].Metadata)
	}
	var b strings.Builder
	b.WriteString(verdict)
	fmt.Fprintf(&b, "\n  the longest linearization found places %d of %d operations; its last ones:", len(longest), len(ops))
	state := linModel.Init()
	for k, i := range longest {
		_, state = linModel.Step(state, ops[i].Input, ops[i].Output)
		if k >= len(longest)-6 {
			fmt.Fprintf(&b, "\n    %s", describe(i))
		}
	}
	fmt.Fprintf(&b, "\n  the table after them: %s; the earliest operations not placed:", linModel.DescribeState(state))
	for _, i := range unplaced[:min(8, len(unplaced))] {
		fmt.Fprintf(&b, "\n    %s", describe(i))
	}
	return res, info, b.String()
}
