// Package model defines the core objects of CCOS (CCOS.md §1): intents and
// their edges, plans and the actions of the causal chain, their statuses,
// the intent status state machine, and the one canonical, versioned
// encoding used to hash, store and print them.
package model

import (
	"fmt"
	"slices"
	"time"

	"github.com/ccos-go/ccos/rtfs/value"
)

// ActionType names what an action records.
type ActionType string

// Action types (CCOS.md §1).
const (
	PlanStarted                ActionType = "PlanStarted"
	PlanCompleted              ActionType = "PlanCompleted"
	PlanAborted                ActionType = "PlanAborted"
	PlanPaused                 ActionType = "PlanPaused"
	PlanResumed                ActionType = "PlanResumed"
	PlanStepStarted            ActionType = "PlanStepStarted"
	PlanStepCompleted          ActionType = "PlanStepCompleted"
	PlanStepFailed             ActionType = "PlanStepFailed"
	PlanStepRetrying           ActionType = "PlanStepRetrying"
	StepProfileDerived         ActionType = "StepProfileDerived"
	CapabilityCall             ActionType = "CapabilityCall"
	CapabilityResult           ActionType = "CapabilityResult"
	InternalStep               ActionType = "InternalStep"
	LogStep                    ActionType = "LogStep"
	IntentCreated              ActionType = "IntentCreated"
	IntentStatusChanged        ActionType = "IntentStatusChanged"
	IntentRelationshipCreated  ActionType = "IntentRelationshipCreated"
	IntentRelationshipModified ActionType = "IntentRelationshipModified"
	IntentArchived             ActionType = "IntentArchived"
	IntentReactivated          ActionType = "IntentReactivated"
	GovernanceApproved         ActionType = "GovernanceApproved"
	GovernanceRejected         ActionType = "GovernanceRejected"
	ApprovalRequested          ActionType = "ApprovalRequested"
	ApprovalGranted            ActionType = "ApprovalGranted"
	ApprovalDenied             ActionType = "ApprovalDenied"
	SecurityViolation          ActionType = "SecurityViolation"
	CheckpointCreated          ActionType = "CheckpointCreated"
)

// ActionTypes lists every action type.
var ActionTypes = []ActionType{
	PlanStarted, PlanCompleted, PlanAborted, PlanPaused, PlanResumed,
	PlanStepStarted, PlanStepCompleted, PlanStepFailed, PlanStepRetrying,
	StepProfileDerived, CapabilityCall, CapabilityResult, InternalStep, LogStep,
	IntentCreated, IntentStatusChanged, IntentRelationshipCreated,
	IntentRelationshipModified, IntentArchived, IntentReactivated,
	GovernanceApproved, GovernanceRejected, ApprovalRequested, ApprovalGranted,
	ApprovalDenied, SecurityViolation, CheckpointCreated,
}

// Valid reports whether t is a known action type.
func (t ActionType) Valid() bool { return slices.Contains(ActionTypes, t) }

// IntentStatus is the state of an intent.
type IntentStatus string

// Intent statuses.
const (
	IntentActive    IntentStatus = "active"
	IntentExecuting IntentStatus = "executing"
	IntentSuspended IntentStatus = "suspended"
	IntentArchivedS IntentStatus = "archived"
	IntentCompleted IntentStatus = "completed"
	IntentFailed    IntentStatus = "failed"
)

// IntentStatuses lists every intent status.
var IntentStatuses = []IntentStatus{IntentActive, IntentExecuting, IntentSuspended, IntentArchivedS, IntentCompleted, IntentFailed}

// intentTransitions is the one status state machine of CCOS.md §1; every
// code path that changes an intent's status consults it.
var intentTransitions = map[IntentStatus][]IntentStatus{
	IntentActive:    {IntentExecuting, IntentSuspended, IntentArchivedS, IntentCompleted, IntentFailed},
	IntentExecuting: {IntentCompleted, IntentFailed, IntentSuspended, IntentActive},
	IntentFailed:    {IntentActive, IntentArchivedS},
	IntentSuspended: {IntentActive, IntentArchivedS},
	IntentCompleted: {IntentArchivedS},
	IntentArchivedS: {IntentActive},
}

// Valid reports whether s is a known intent status.
func (s IntentStatus) Valid() bool { return slices.Contains(IntentStatuses, s) }

// CanTransition reports whether an intent may move from one status to
// another.
func CanTransition(from, to IntentStatus) bool {
	return slices.Contains(intentTransitions[from], to)
}

// TransitionError is returned for an illegal status change.
type TransitionError struct {
	From, To IntentStatus
}

func (e *TransitionError) Error() string {
	return fmt.Sprintf("illegal intent status transition %s -> %s", e.From, e.To)
}

// CheckTransition returns a *TransitionError unless from -> to is legal.
func CheckTransition(from, to IntentStatus) error {
	if !CanTransition(from, to) {
		return &TransitionError{From: from, To: to}
	}
	return nil
}

// TriggerSource says what caused an intent.
type TriggerSource string

// Trigger sources.
const (
	TriggerHumanRequest     TriggerSource = "human-request"
	TriggerPlanExecution    TriggerSource = "plan-execution"
	TriggerSystemEvent      TriggerSource = "system-event"
	TriggerIntentCompletion TriggerSource = "intent-completion"
	TriggerArbiter          TriggerSource = "arbiter-inference"
)

// Intent is the why of a plan.
type Intent struct {
	ID              string
	Name            string
	OriginalRequest string
	Goal            string
	// Constraints, Preferences, GenerationContext and Metadata are RTFS
	// maps (nil when empty).
	Constraints       *value.Map
	Preferences       *value.Map
	SuccessCriteria   string // RTFS source of (fn [result] ...), or ""
	Status            IntentStatus
	Priority          int64
	ParentIntent      string
	TriggeredBy       TriggerSource
	GenerationContext *value.Map
	CreatedAt         time.Time
	UpdatedAt         time.Time
	Metadata          *value.Map
	// Source is the canonical RTFS (intent ...) form.
	Source string
}

// EdgeType is the kind of relation between two intents.
type EdgeType string

// Edge types. For DependsOn and IsSubgoalOf, From is the child.
const (
	EdgeDependsOn     EdgeType = "depends-on"
	EdgeIsSubgoalOf   EdgeType = "is-subgoal-of"
	EdgeConflictsWith EdgeType = "conflicts-with"
	EdgeEnables       EdgeType = "enables"
	EdgeRelatedTo     EdgeType = "related-to"
	EdgeTriggeredBy   EdgeType = "triggered-by"
	EdgeBlocks        EdgeType = "blocks"
)

// EdgeTypes lists every edge type.
var EdgeTypes = []EdgeType{EdgeDependsOn, EdgeIsSubgoalOf, EdgeConflictsWith, EdgeEnables, EdgeRelatedTo, EdgeTriggeredBy, EdgeBlocks}

// Valid reports whether t is a known edge type.
func (t EdgeType) Valid() bool { return slices.Contains(EdgeTypes, t) }

// IntentEdge relates two intents.
type IntentEdge struct {
	From, To string
	Type     EdgeType
	Weight   *float64
	Metadata *value.Map
}

// PlanStatus is the state of a plan.
type PlanStatus string

// Plan statuses.
const (
	PlanDraft     PlanStatus = "draft"
	PlanActive    PlanStatus = "active"
	PlanPausedS   PlanStatus = "paused"
	PlanCompleteS PlanStatus = "completed"
	PlanFailed    PlanStatus = "failed"
	PlanAbortedS  PlanStatus = "aborted"
	PlanArchived  PlanStatus = "archived"
)

// Plan is the how: RTFS source plus its policies and provenance.
type Plan struct {
	ID        string
	Name      string
	IntentIDs []string // first = primary
	Language  string   // "rtfs20"
	Body      string   // RTFS source
	Status    PlanStatus
	// InputSchema and OutputSchema are RTFS type expressions as data.
	InputSchema          value.Value
	OutputSchema         value.Value
	Policies             *value.Map
	CapabilitiesRequired []string
	Annotations          *value.Map
	CreatedAt            time.Time
}

// ErrorInfo is a recorded error.
type ErrorInfo struct {
	Type    string
	Message string
	Data    value.Value
}

// Result is the outcome recorded in an action.
type Result struct {
	Success bool
	Value   value.Value
	Error   *ErrorInfo
}

// Action is one record of the causal chain.
type Action struct {
	Seq            uint64
	ActionID       string
	ParentActionID string
	RunID          string
	PlanID         string
	IntentID       string
	Type           ActionType
	Name           string      // step name or capability id
	Args           value.Value // usually a vector, nil when absent
	Result         *Result
	Cost           *float64
	DurationMs     *int64
	Timestamp      time.Time // UTC, millisecond precision
	Metadata       *value.Map
	// Integrity: Hash covers every other field; PrevHash is the Hash of
	// the action with Seq-1 (empty for the first).
	Hash     string
	PrevHash string
}

// Checkpoint is a signed chain head: every action up to Seq is covered by
// the signature over the canonical encoding of {seq, head, time, key id}.
type Checkpoint struct {
	Seq       uint64
	HeadHash  string
	Time      time.Time
	KeyID     string
	Signature []byte
}

// Millis truncates t to UTC milliseconds, the precision of every stored
// time, so that a value reads back exactly as it was hashed.
func Millis(t time.Time) time.Time { return t.UTC().Truncate(time.Millisecond) }
