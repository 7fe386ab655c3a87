package main

import (
	"net/http"
	"strings"
)

type sseHandler struct {
	hub    *hub
	buffer int
}

func (s *sseHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	flusher, ok := w.(http.Flusher)
	if !ok {
		http.Error(w, "streaming unsupported", http.StatusInternalServerError)
		return
	}
	topics := r.URL.Query()["topic"]
	if len(topics) == 0 {
		topics = []string{defaultTopic}
	}
	c := &client{topics: make(map[string]bool), send: make(chan []byte, s.buffer)}
	for _, t := range topics {
		c.topics[t] = true
	}
	s.hub.register <- c
	defer func() { s.hub.unregister <- c }()

	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-cache")
	h.Set("Connection", "keep-alive")
	h.Set("Access-Control-Allow-Origin", "*")
	w.WriteHeader(http.StatusOK)
	w.Write([]byte("retry: 2000\n\n"))
	flusher.Flush()

	for {
		select {
		case <-r.Context().Done():
			return
		case frame, ok := <-c.send:
			if !ok {
				return
			}
			if _, err := w.Write(frame); err != nil {
				return
			}
			flusher.Flush()
		}
	}
}

type publishHandler struct {
	hub *hub
}

func (p *publishHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", "POST")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	if err := r.ParseForm(); err != nil {
		http.Error(w, "malformed form body", http.StatusBadRequest)
		return
	}
	topics := r.PostForm["topic"]
	if len(topics) == 0 {
		http.Error(w, "missing topic", http.StatusBadRequest)
		return
	}
	ev := event{id: r.PostForm.Get("id"), typ: r.PostForm.Get("type"), data: r.PostForm.Get("data"), retry: r.PostForm.Get("retry")}
	if strings.ContainsAny(ev.id+ev.typ, "\r\n\x00") {
		http.Error(w, "id and type must not contain CR, LF or NUL", http.StatusBadRequest)
		return
	}
	id := p.hub.publishWith(topics, func(uint64) event { return ev })
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Write([]byte(id))
}
