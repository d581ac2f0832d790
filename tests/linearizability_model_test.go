package tests

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/anishathalye/porcupine"
	"github.com/minio/minio-go/v7"
)

// The porcupine model of the bucket table, as the linearizability tests
// (linearizability_test.go) see it through S3: a few fixed bucket names,
// each there or not; and of the cluster map's weights, as `ecstore admin
// node weight` changes them: each of the first linNodes nodes at weight 1
// or 2, and the epoch each acknowledged change answers. The two are
// independent objects (porcupine checks them apart: Partition).

// linBuckets are the names the linearizability tests use; bucket b of the
// model is linBuckets[b].
var linBuckets = [...]string{"lin-a", "lin-b", "lin-c", "lin-d"}

type linKind uint8

const (
	linCreate  linKind = iota // CreateBucket
	linDelete                 // DeleteBucket
	linHead                   // HeadBucket
	linList                   // ListBuckets
	linWeight                 // admin node weight (Bucket: the node, Heavy: weight 2, else 1)
	linMapRead                // the weights once the gateways settled (Output.Set: bit n for node n at weight 2)
)

var linKindNames = [...]string{"create", "delete", "head", "list", "weight", "map"}

// linNodes is how many nodes the weight changes touch (node1..).
const linNodes = 5

type linResult uint8

const (
	linOK      linResult = iota // create or delete: done
	linExists                   // create: 409 (the bucket is there); head: 200
	linMissing                  // delete: NoSuchBucket; head: 404
	linUnknown                  // create or delete: 503, timeout, connection error: done or not
	linListed                   // list: Output.Set holds the names listed
	linRefused                  // weight: 409, the change was refused and changed nothing
)

var linResultNames = [...]string{"ok", "exists", "missing", "unknown", "listed", "refused"}

// linInput is an operation's input: Bucket is an index of linBuckets
// (unused by a list).
type linInput struct {
	Kind   linKind
	Bucket int
	Heavy  bool
}

// linOutput is an operation's outcome; for a list, Set has bit b for each
// linBuckets[b] listed; for a weight change, Epoch is the map epoch it
// answered.
type linOutput struct {
	Result linResult
	Set    uint8
	Epoch  uint64
}

// linState is the model's state: the bucket tables still allowed, the
// weight vectors still allowed (bit v for vector v, whose bit n says node
// n is at weight 2), and the highest epoch an acknowledged change
// answered: the map's epochs are log positions of the metadata group, so a
// change acknowledged after another answers a higher one.
type linState struct {
	Tables  linTables
	Weights uint32
	Epoch   uint64
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

// linStepMap returns the state after a weight change or the final map
// read, and whether s allows it.
func linStepMap(s linState, in linInput, out linOutput) (bool, linState) {
	if in.Kind == linMapRead {
		if s.Weights&(1<<out.Set) == 0 {
			return false, s
		}
		s.Weights = 1 << out.Set
		return true, s
	}
	if out.Result == linRefused {
		return true, s
	}
	bit := uint8(1) << in.Bucket
	var changed uint32
	for v := range 1 << linNodes {
		if s.Weights&(1<<v) == 0 {
			continue
		}
		w := uint8(v) &^ bit
		if in.Heavy {
			w |= bit
		}
		changed |= 1 << w
	}
	switch out.Result {
	case linOK:
		if out.Epoch <= s.Epoch {
			return false, s
		}
		s.Weights, s.Epoch = changed, out.Epoch
	case linUnknown: // done or not (if done, at an epoch not known)
		s.Weights |= changed
	default:
		return false, s
	}
	return true, s
}

// linIsMap reports whether op is on the map (else on the bucket table).
func linIsMap(op porcupine.Operation) bool {
	k := op.Input.(linInput).Kind
	return k == linWeight || k == linMapRead
}

// linModel: the table starts empty and every node at weight 1 (the tests
// start new clusters).
var linModel = porcupine.Model{
	Partition: func(ops []porcupine.Operation) [][]porcupine.Operation {
		var table, maps []porcupine.Operation
		for _, op := range ops {
			if linIsMap(op) {
				maps = append(maps, op)
			} else {
				table = append(table, op)
			}
		}
		return [][]porcupine.Operation{table, maps}
	},
	Init: func() any { return linState{Tables: 1, Weights: 1} },
	Step: func(state, input, output any) (bool, any) {
		s, in, out := state.(linState), input.(linInput), output.(linOutput)
		if in.Kind == linWeight || in.Kind == linMapRead {
			return linStepMap(s, in, out)
		}
		var next linTables
		for t := range 1 << len(linBuckets) {
			if s.Tables&(1<<t) != 0 {
				next |= linStepTable(uint8(t), in, out)
			}
		}
		s.Tables = next
		return next != 0, s
	},
	Hash: func(state any) uint64 {
		s := state.(linState)
		return uint64(s.Tables) ^ uint64(s.Weights)<<16 ^ s.Epoch<<48 ^ s.Epoch>>16
	},
	DescribeOperation: func(input, output any) string {
		in, out := input.(linInput), output.(linOutput)
		switch in.Kind {
		case linList:
			return "list → " + linSetString(out.Set)
		case linMapRead:
			return "map → " + linWeightsString(out.Set)
		case linWeight:
			w, epoch := 1, ""
			if in.Heavy {
				w = 2
			}
			if out.Result == linOK {
				epoch = fmt.Sprintf(" epoch %d", out.Epoch)
			}
			return fmt.Sprintf("weight(node%d=%d) → %s%s", in.Bucket+1, w, linResultNames[out.Result], epoch)
		}
		return fmt.Sprintf("%s(%s) → %s", linKindNames[in.Kind], linBuckets[in.Bucket], linResultNames[out.Result])
	},
	DescribeState: func(state any) string {
		s := state.(linState)
		var alts, ws []string
		for t := range 1 << len(linBuckets) {
			if s.Tables&(1<<t) != 0 {
				alts = append(alts, linSetString(uint8(t)))
			}
		}
		for v := range 1 << linNodes {
			if s.Weights&(1<<v) != 0 {
				ws = append(ws, linWeightsString(uint8(v)))
			}
		}
		return fmt.Sprintf("tables %s; weights %s; epoch > %d", strings.Join(alts, " or "), strings.Join(ws, " or "), s.Epoch)
	},
	DescribeOperationMetadata: func(info any) string { s, _ := info.(string); return s },
}

// linWeightsString shows a weight vector: "[1 2 1 1 1]".
func linWeightsString(v uint8) string {
	var ws []string
	for n := range linNodes {
		ws = append(ws, fmt.Sprint(1+int(v>>n&1)))
	}
	return "[" + strings.Join(ws, " ") + "]"
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
func (h *linHistory) run(ctx context.Context, client int, gw linGateway, gwName string, in linInput) bool {
	call := h.now()
	out, err := linDo(ctx, gw, in)
	ret := h.now()
	h.mu.Lock()
	defer h.mu.Unlock()
	if err != nil {
		code := minio.ToErrorResponse(err).Code
		var ae *linAdminError
		switch {
		case errors.As(err, &ae):
			code = ae.status
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
	if err != nil && (in.Kind == linHead || in.Kind == linList || in.Kind == linMapRead) {
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
func linDo(ctx context.Context, g linGateway, in linInput) (linOutput, error) {
	gw := g.s3
	name := ""
	if in.Kind == linCreate || in.Kind == linDelete || in.Kind == linHead {
		name = linBuckets[in.Bucket]
	}
	switch in.Kind {
	case linWeight:
		return linSetWeight(ctx, g.endpoint, in)
	case linMapRead:
		return linReadWeights(ctx, g.endpoint)
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

// linGateway is one gateway as the clients reach it: S3 (minio-go) and
// the admin API (the ecstore binary's admin command).
type linGateway struct {
	s3       *minio.Client
	endpoint string
}

// linAdminError is a failed admin command; status is "409", "503", ...,
// or "error" when no HTTP answer was printed.
type linAdminError struct {
	status string
	out    string
}

func (e *linAdminError) Error() string { return "admin " + e.status + ": " + e.out }

var linEpochLine = regexp.MustCompile(`cluster map epoch (\d+):`)

// linSetWeight sets node in.Bucket+1's weight to 2 (Heavy) or 1 with
// `ecstore admin node weight`: success answers the map's new epoch; a 409
// is a refusal that changed nothing (another change won the race, or a
// rebalance is pending); anything else (a 503, a timeout) is unknown.
func linSetWeight(ctx context.Context, endpoint string, in linInput) (linOutput, error) {
	w := "1"
	if in.Heavy {
		w = "2"
	}
	out, err := adminRunCtx(ctx, endpoint, "node", "weight", fmt.Sprintf("node%d", in.Bucket+1), w)
	if err == nil {
		m := linEpochLine.FindStringSubmatch(out)
		if m == nil {
			return linOutput{Result: linUnknown}, &linAdminError{"no epoch", out}
		}
		epoch, _ := strconv.ParseUint(m[1], 10, 64)
		return linOutput{Result: linOK, Epoch: epoch}, nil
	}
	status := "error"
	if m := regexp.MustCompile(`admin: (\d{3}) `).FindStringSubmatch(out); m != nil {
		status = m[1]
	}
	if status == "409" {
		return linOutput{Result: linRefused}, &linAdminError{status, out}
	}
	return linOutput{Result: linUnknown}, &linAdminError{status, out}
}

// linReadWeights reads the map's weights of node1..linNodes through the
// gateway's admin status.
func linReadWeights(ctx context.Context, endpoint string) (linOutput, error) {
	st, err := tryStatus(ctx, &ClusterGateway{Server: &Server{Endpoint: endpoint}})
	if err != nil {
		return linOutput{}, &linAdminError{"error", err.Error()}
	}
	return linOutput{Result: linListed, Set: linWeightVector(st)}, nil
}

// linWeightVector is the weight vector of a status: bit n for node n+1 at
// weight 2 (every drive of it).
func linWeightVector(st *elasticStatus) uint8 {
	var v uint8
	for _, d := range st.Drives {
		var n int
		if _, err := fmt.Sscanf(d.Node, "node%d", &n); err == nil && n >= 1 && n <= linNodes && d.Weight == 2 {
			v |= 1 << (n - 1)
		}
	}
	return v
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

// TestLinModel checks the model itself on small histories, so that the
// cluster tests' verdicts mean what they say: each row is linearizable or
// not, as porcupine must find it.
func TestLinModel(t *testing.T) {
	type op struct {
		in        linInput
		out       linOutput
		call, ret int64
	}
	w := func(node int, heavy bool, r linResult, epoch uint64, call, ret int64) op {
		return op{linInput{Kind: linWeight, Bucket: node, Heavy: heavy}, linOutput{Result: r, Epoch: epoch}, call, ret}
	}
	read := func(v uint8, call int64) op {
		return op{linInput{Kind: linMapRead}, linOutput{Result: linListed, Set: v}, call, call + 1}
	}
	create := func(b int, r linResult, call, ret int64) op {
		return op{linInput{Kind: linCreate, Bucket: b}, linOutput{Result: r}, call, ret}
	}
	list := func(set uint8, call int64) op {
		return op{linInput{Kind: linList}, linOutput{Result: linListed, Set: set}, call, call + 1}
	}
	rows := []struct {
		name string
		ops  []op
		want porcupine.CheckResult
	}{
		{"one change, read", []op{w(0, true, linOK, 5, 0, 10), read(0b1, 20)}, porcupine.Ok},
		{"change not seen by the read", []op{w(0, true, linOK, 5, 0, 10), read(0, 20)}, porcupine.Illegal},
		{"epochs grow in order", []op{w(0, true, linOK, 5, 0, 10), w(1, true, linOK, 9, 20, 30), read(0b11, 40)}, porcupine.Ok},
		{"an epoch going back", []op{w(0, true, linOK, 9, 0, 10), w(1, true, linOK, 5, 20, 30)}, porcupine.Illegal},
		{"concurrent changes: either order", []op{w(0, true, linOK, 9, 0, 30), w(0, false, linOK, 5, 10, 20), read(0b1, 40)}, porcupine.Ok},
		{"concurrent changes: the later epoch wins", []op{w(0, true, linOK, 9, 0, 30), w(0, false, linOK, 5, 10, 20), read(0, 40)}, porcupine.Illegal},
		{"a refusal changes nothing", []op{w(2, true, linRefused, 0, 0, 10), read(0b100, 20)}, porcupine.Illegal},
		{"unknown: done", []op{w(2, true, linUnknown, 0, 0, 10), read(0b100, 20)}, porcupine.Ok},
		{"unknown: not done", []op{w(2, true, linUnknown, 0, 0, 10), read(0, 20)}, porcupine.Ok},
		{"map and table apart", []op{w(0, true, linOK, 5, 0, 10), create(1, linOK, 0, 10), list(0b10, 20), read(0b1, 20)}, porcupine.Ok},
		{"table still checked", []op{create(1, linOK, 0, 10), list(0, 20), read(0, 20)}, porcupine.Illegal},
	}
	for _, r := range rows {
		var ops []porcupine.Operation
		for i, o := range r.ops {
			ops = append(ops, porcupine.Operation{ClientId: i, Input: o.in, Output: o.out, Call: o.call, Return: o.ret})
		}
		if got := porcupine.CheckOperations(linModel, ops); got != (r.want == porcupine.Ok) {
			t.Errorf("%s: linearizable %v, want %v", r.name, got, r.want == porcupine.Ok)
		}
	}
}
