;; weak.scm — weak-keyed tables on CapGC ephemerons. An entry's value lives
;; exactly as long as its key is reachable from elsewhere: a value that
;; refers to its own key does not keep it alive, a value reachable only
;; through the table survives while its key does.
(define small? (and (pair? (script-args)) (equal? (car (script-args)) "small")))
(define n (if small? 20 200))
(define (say . xs) (for-each display xs) (newline))

(define t (make-weak-table))

;; n kept keys, n dropped keys; every value is a fresh string, and the
;; dropped keys' values point back at their keys
(define kept '())
(define (fill! i)
  (let ((k (list 'kept i)) (d (list 'dropped i)))
    (set! kept (cons k kept))
    (weak-table-set! t k (string-append "value-" (number->string i)))
    (weak-table-set! t d (cons d (string-append "back-" (number->string i))))))
(do ((i 0 (+ i 1))) ((= i n)) (fill! i))
(say "entries before gc, at least the kept ones: " (>= (weak-table-count t) n))

;; churn so the values move (moving plans) before the full collection
(do ((i 0 (+ i 1))) ((= i 2000)) (make-vector 10 i))
(gc)
(say "entries after gc (dropped keys gone): " (weak-table-count t))
(say "kept values intact: "
     (let loop ((ks kept) (ok #t))
       (if (null? ks) ok
           (loop (cdr ks)
                 (and ok (equal? (weak-table-ref t (car ks))
                                 (string-append "value-" (number->string (cadr (car ks))))))))))
(say "a kept key's value: " (weak-table-ref t (list-ref kept 0)))
(say "a key never stored: " (weak-table-ref t (list 'kept 0) 'absent))
(say "keys listed: " (length (weak-table-keys t)))

;; overwrite and delete
(weak-table-set! t (car kept) 42)
(say "overwritten: " (weak-table-ref t (car kept)) ", count " (weak-table-count t))
(weak-table-delete! t (cadr kept))
(say "deleted one: count " (weak-table-count t))

;; a chain: the value of A's entry is B's key, the value of B's is C's key
(define a (list 'a))
(let* ((b (list 'b)) (c (list 'c)))
  (weak-table-set! t a b)
  (weak-table-set! t b c)
  (weak-table-set! t c "end of chain"))
(gc)
(say "chain kept through a: " (weak-table-ref t (weak-table-ref t (weak-table-ref t a))))
(say "count with the chain: " (weak-table-count t))
(set! a #f)
(gc)
(say "chain gone once a is dropped: count " (weak-table-count t))

;; drop every kept key
(set! kept '())
(gc)
(say "entries after dropping every key: " (weak-table-count t))

;; a second table, dropped itself: its C side is released by a finalizer
(define t2 (make-weak-table))
(weak-table-set! t2 (list 1) 1)
(set! t2 #f)
(gc)
(say "table still usable: " (begin (weak-table-set! t (list 'x) 1) (weak-table-count t)))
