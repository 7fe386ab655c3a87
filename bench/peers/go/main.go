// Command ssepeer is the usual Go net/http SSE server from the tutorials, with RawSse's endpoints, for
// comparison in the benchmarks only: GET /sse?topic=a&topic=b, POST /publish (form fields topic, data, id,
// type, retry; answers the event id), a ticker on the default topic, and static files from a folder.
// Standard library only.
package main

import (
	"flag"
	"fmt"
	"log"
	"net/http"
	"time"
)

func main() {
	port := flag.Int("port", 8080, "TCP port")
	bind := flag.String("bind", "127.0.0.1", "address to listen on")
	root := flag.String("root", "./public", "folder of static files")
	interval := flag.Int("interval", 500, "ticker period in ms on the default topic; 0 turns it off")
	buffer := flag.Int("buffer", 256, "events buffered per client; a client whose buffer is full misses events")
	flag.Parse()

	hub := newHub()
	go hub.run()
	if *interval > 0 {
		go tick(hub, time.Duration(*interval)*time.Millisecond)
	}

	mux := http.NewServeMux()
	mux.Handle("/sse", &sseHandler{hub: hub, buffer: *buffer})
	mux.Handle("/publish", &publishHandler{hub: hub})
	mux.Handle("/", http.FileServer(http.Dir(*root)))

	addr := fmt.Sprintf("%s:%d", *bind, *port)
	log.Printf("ssepeer listening on http://%s/ serving %s", addr, *root)
	log.Fatal(http.ListenAndServe(addr, mux))
}

// tick publishes {"id":N,"time":"..."} as event "tick" to the default topic every period, like RawSse's ticker.
func tick(hub *hub, period time.Duration) {
	t := time.NewTicker(period)
	defer t.Stop()
	for now := range t.C {
		hub.publishWith([]string{defaultTopic}, func(seq uint64) event {
			return event{typ: "tick", data: fmt.Sprintf(`{"id":%d,"time":"%s"}`, seq, now.UTC().Format("2006-01-02T15:04:05.000Z"))}
		})
	}
}
