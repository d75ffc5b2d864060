package leakcheck

import (
	"runtime"
	"strings"
	"testing"
	"time"
)

func TestCheckPassesWhenGoroutinesEnd(t *testing.T) {
	before := runtime.NumGoroutine()
	done := make(chan struct{})
	go func() { <-done }()
	time.AfterFunc(50*time.Millisecond, func() { close(done) })
	if err := Check(before, 5*time.Second); err != nil {
		t.Fatal(err)
	}
}

func TestCheckReportsALeak(t *testing.T) {
	before := runtime.NumGoroutine()
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

func leakyWorker(stop chan struct{}) { <-stop }

func TestMain(m *testing.M) { Main(m) }
