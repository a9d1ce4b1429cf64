package zktest

import (
	"context"
	"testing"
	"time"

	"github.com/zkwatch/zkwatch/internal/fourlw"
)

func TestEnsembleLifecycle(t *testing.T) {
	e := Start(t, 3)
	leader := e.Leader()
	if leader < 0 {
		t.Fatal("no single leader")
	}
	// A started JVM has used CPU; a killed one has no CPU time to read.
	if cpu, err := e.CPUTime(leader); err != nil || cpu <= 0 {
		t.Errorf("CPUTime of a running member = %v, %v", cpu, err)
	}
	e.Kill(leader)
	if _, err := e.CPUTime(leader); err == nil {
		t.Error("CPUTime of a killed member did not fail")
	}
	newLeader, err := e.WaitLeaderOtherThan(leader, 30*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Start(leader); err != nil {
		t.Fatal(err)
	}
	if err := e.WaitHealthy(30 * time.Second); err != nil {
		t.Fatal(err)
	}
	follower := (newLeader + 1) % 3
	e.Pause(follower)
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	begin := time.Now()
	if _, err := fourlw.Do(ctx, e.Members[follower].Addr(), "ruok", 0); err == nil {
		t.Fatal("paused member answered")
	}
	if d := time.Since(begin); d > time.Second {
		t.Fatalf("probe of a paused member took %s", d)
	}
	e.Resume(follower)
	if err := e.WaitHealthy(30 * time.Second); err != nil {
		t.Fatal(err)
	}
}

func TestProxyBlackhole(t *testing.T) {
	e := Start(t, 1)
	p, err := NewProxy(e.Addrs()...)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	ask := func(d time.Duration) error {
		ctx, cancel := context.WithTimeout(context.Background(), d)
		defer cancel()
		_, err := fourlw.Do(ctx, p.Addrs()[0], "ruok", 0)
		return err
	}
	if err := ask(5 * time.Second); err != nil {
		t.Fatal(err)
	}
	p.Blackhole()
	if err := ask(200 * time.Millisecond); err == nil {
		t.Fatal("answer through a black-holed proxy")
	}
	p.Restore()
	if err := ask(5 * time.Second); err != nil {
		t.Fatal(err)
	}
}
