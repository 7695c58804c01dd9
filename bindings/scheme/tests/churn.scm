;; churn.scm — string and vector churn: many short-lived strings and
;; vectors of many sizes (every size class, a few large ones), a ring of
;; survivors overwritten in place, checksums that catch a moved or
;; corrupted object.
(define small? (and (pair? (script-args)) (equal? (car (script-args)) "small")))
(define rounds (if small? 100 2000))
(define (say . xs) (for-each display xs) (newline))

(define (string-sum s)
  (let loop ((i 0) (acc 0))
    (if (= i (string-length s)) acc (loop (+ i 1) (+ acc (char->integer (string-ref s i)))))))
(define (vector-sum v)
  (let loop ((i 0) (acc 0))
    (if (= i (vector-length v)) acc (loop (+ i 1) (+ acc (vector-ref v i))))))

;; a ring of 64 survivors: each round replaces one with a fresh string
(define ring (make-vector 64 ""))
(define (word i) (string-append "w" (number->string i) "-" (make-string (modulo i 37) #\z)))
(do ((i 0 (+ i 1))) ((= i rounds))
  (vector-set! ring (modulo i 64) (word i))
  (string-append (word i) (word (+ i 1)) (symbol->string 'garbage)))
(say "ring checksum: " (fold-left + 0 (map string-sum (vector->list ring))))
(say "ring sample: " (vector-ref ring 0) " " (vector-ref ring 63))

;; vectors of every length 0..100, filled, summed, dropped
(define total 0)
(do ((r 0 (+ r 1))) ((= r (if small? 1 10)))
  (do ((len 1 (+ len 1))) ((> len 100))
    (let ((v (make-vector len 1)))
      (vector-set! v (quotient len 2) len)
      (set! total (+ total (vector-sum v))))))
(say "vector churn total: " total)

;; a few large objects: 100000-element vectors and strings (5000 small)
(define big (if small? 5000 100000))
(define big-v (make-vector big 3))
(define big-s (make-string big #\a))
(do ((i 0 (+ i 1))) ((= i (if small? 2 10)))
  (make-vector big i)
  (make-string (quotient big 2) #\b))
(string-set! big-s (- big 1) #\b)
(vector-set! big-v (- big 1) 4)
(say "large: " (vector-sum big-v) " " (string-sum big-s))

;; list <-> vector <-> string conversions
(define chars (string->list "the quick brown fox jumps over the lazy dog"))
(define back (list->string (reverse chars)))
(say "reversed: " back)
(say "vector of chars: " (vector-length (list->vector chars)) " " (string-length (list->string (vector->list (list->vector chars)))))
(define symbols (map (lambda (i) (string->symbol (string-append "sym" (number->string i)))) (iota 50)))
(gc)
(say "symbols survive gc: " (eq? (list-ref symbols 7) 'sym7) " " (symbol->string (list-ref symbols 49)))
(say "collections happened: " (> (gc-count) 2))
