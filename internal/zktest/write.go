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

package zktest

import (
	"fmt"
	"sync"

	"github.com/go-zookeeper/zk"
)

// WriteChildren creates n children parent/n-0 … parent/n-(n-1) of an
// existing parent with 8 writers at once: write load for lag and failover
// tests. (Children of one parent, since every top-level znode is a
// namespace with mntr lines of its own; thousands of them would make mntr
// too large to read.)
func WriteChildren(conn *zk.Conn, parent string, n int) error {
	const writers = 8
	var wg sync.WaitGroup
	errs := make(chan error, writers)
	for g := 0; g < writers; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for i := g; i < n; i += writers {
				if _, err := conn.Create(fmt.Sprintf("%s/n-%d", parent, i), nil, 0, zk.WorldACL(zk.PermAll)); err != nil {
					errs <- err
					return
				}
			}
		}(g)
	}
	wg.Wait()
	close(errs)
	return <-errs
}
