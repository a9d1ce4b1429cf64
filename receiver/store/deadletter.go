// Copyright 2026 The zkwatch Authors
// Licensed under the Apache License, Version 2.0 (the "License");
// you may not use this file except in compliance with the License.
// You may obtain a copy of the License at
//
// http://www.apache.org/licenses/LICENSE-2.0
//
// Unless required by applicable law or agreed to in writing, software
// distributed under the License is distributed on an "AS IS" BASIS,
// WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
// See the License for the specific language governing permissions and
// limitations under the License.

package store

import (
	"time"
)

// DeadLetter is a delivery the outbox gave up on: the gateway rejected it
// for good, or it kept failing for retry_max_attempts attempts or
// retry_max_age. It is kept (until the retention) for inspection.
type DeadLetter struct {
	Item   OutboxItem `json:"item"`
	Reason string     `json:"reason"`
	At     time.Time  `json:"at"`
}

// PutDeadLetter records a delivery given up on.
func (t *Tx) PutDeadLetter(d *DeadLetter) error {
	b := t.tx.Bucket(bDead)
	seq, err := b.NextSequence()
	if err != nil {
		return err
	}
	return put(b, seqKey(seq), d)
}

// DeadLetters returns up to limit dead letters, newest first.
func (t *Tx) DeadLetters(limit int) ([]*DeadLetter, error) {
	var out []*DeadLetter
	c := t.tx.Bucket(bDead).Cursor()
	for k, v := c.Last(); k != nil && len(out) < limit; k, v = c.Prev() {
		d, err := decode[DeadLetter](k, v)
		if err != nil {
			return nil, err
		}
		out = append(out, d)
	}
	return out, nil
}

// DeadLetterLen counts the dead letters kept.
func (t *Tx) DeadLetterLen() int { return t.tx.Bucket(bDead).Stats().KeyN }

// expireDeadLetters deletes dead letters recorded before cutoff; they are
// in recording order, so it stops at the first younger one.
func (t *Tx) expireDeadLetters(cutoff time.Time) error {
	c := t.tx.Bucket(bDead).Cursor()
	for k, v := c.First(); k != nil; k, v = c.First() {
		d, err := decode[DeadLetter](k, v)
		if err != nil {
			return err
		}
		if !d.At.Before(cutoff) {
			return nil
		}
		if err := c.Delete(); err != nil {
			return err
		}
	}
	return nil
}
