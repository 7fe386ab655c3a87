package main

import (
	"strconv"
	"strings"
)

const defaultTopic = "default"

// event is one published event, encoded once and shared by every client.
type event struct {
	id, typ, data string
	retry         string
}

func (e event) encode() []byte {
	var b strings.Builder
	if e.retry != "" {
		b.WriteString("retry: " + e.retry + "\n")
	}
	b.WriteString("id: " + e.id + "\n")
	if e.typ != "" {
		b.WriteString("event: " + e.typ + "\n")
	}
	// Every line of the payload gets its own data: field.
	data := strings.ReplaceAll(strings.ReplaceAll(e.data, "\r\n", "\n"), "\r", "\n")
	for _, line := range strings.Split(data, "\n") {
		b.WriteString("data: " + line + "\n")
	}
	b.WriteString("\n")
	return []byte(b.String())
}

// client is one SSE stream: its topics and a buffered channel of encoded frames.
type client struct {
	topics map[string]bool
	send   chan []byte
}

type message struct {
	topics []string
	frame  []byte
}

// hub owns the clients; only run() touches the map, so it needs no lock.
type hub struct {
	clients    map[*client]bool // owned by run()
	register   chan *client
	unregister chan *client
	broadcast  chan message
	publish    chan publishRequest
	seq        uint64 // owned by run()
}

type publishRequest struct {
	topics []string
	build  func(seq uint64) event
	id     chan string
}

func newHub() *hub {
	return &hub{
		clients:    make(map[*client]bool),
		register:   make(chan *client),
		unregister: make(chan *client),
		broadcast:  make(chan message, 1024),
		publish:    make(chan publishRequest),
	}
}

func (h *hub) run() {
	for {
		select {
		case c := <-h.register:
			h.clients[c] = true
		case c := <-h.unregister:
			if h.clients[c] {
				delete(h.clients, c)
				close(c.send)
			}
		case p := <-h.publish:
			h.seq++
			ev := p.build(h.seq)
			if ev.id == "" {
				ev.id = strconv.FormatUint(h.seq, 10)
			}
			frame := ev.encode()
			for c := range h.clients {
				if !c.wants(p.topics) {
					continue
				}
				// A slow client is skipped, never waited for.
				select {
				case c.send <- frame:
				default:
				}
			}
			p.id <- ev.id
		}
	}
}

func (c *client) wants(topics []string) bool {
	for _, t := range topics {
		if c.topics[t] {
			return true
		}
	}
	return false
}

// publishWith assigns the next sequence number, builds the event with it, fans it out, and returns its id.
func (h *hub) publishWith(topics []string, build func(seq uint64) event) string {
	id := make(chan string, 1)
	h.publish <- publishRequest{topics: topics, build: build, id: id}
	return <-id
}
