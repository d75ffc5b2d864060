package leakcheck

import (
	"strings"
	"testing"
	"time"
)

func TestCheckPassesWhenGoroutinesEnd(t *testing.T) {
	before := Snapshot()
	done := make(chan struct{})
	go func() { <-done }()
	time.AfterFunc(50*time.Millisecond, func() { close(done) })
	if err := Check(before, 5*time.Second); err != nil {
		t.Fatal(err)
	}
}

func TestCheckReportsALeak(t *testing.T) {
	before := Snapshot()
	stop := make(chan struct{})
	defer close(stop)
	go leakyWorker(stop)
	err := Check(before, 100*time.Millisecond)
	if err == nil {
		t.Fatal("a goroutine still running was not reported")
	}
	if !strings.Contains(err.Error(), "leakyWorker") {
		t.Errorf("the report does not show the leaked goroutine's stack:\n%v", err)
	}
}

// TestCheckReportsALeakWhileOthersEnd is the case a count of goroutines
// misses: a goroutine from before the snapshot ends while a new one leaks.
func TestCheckReportsALeakWhileOthersEnd(t *testing.T) {
	oldDone := make(chan struct{})
	oldEnded := make(chan struct{})
	go func() { <-oldDone; close(oldEnded) }()
	before := Snapshot()
	stop := make(chan struct{})
	defer close(stop)
	go leakyWorker(stop)
	close(oldDone)
	<-oldEnded
	err := Check(before, 100*time.Millisecond)
	if err == nil {
		t.Fatal("a new goroutine still running was not reported while an older one ended")
	}
	if !strings.Contains(err.Error(), "leakyWorker") {
		t.Errorf("the report does not show the leaked goroutine's stack:\n%v", err)
	}
	if strings.Contains(err.Error(), "TestCheckReportsALeakWhileOthersEnd.func1") {
		t.Errorf("the report lists a goroutine that ended:\n%v", err)
	}
}

func leakyWorker(stop chan struct{}) { <-stop }

func TestMain(m *testing.M) { Main(m) }
