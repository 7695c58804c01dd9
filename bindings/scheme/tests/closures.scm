;; closures.scm — closure-heavy code: counters with private state, adders
;; kept in lists and vectors across collections, composition chains,
;; Church numerals, continuation-passing style, memoization through a
;; closed-over association list.
(define small? (and (pair? (script-args)) (equal? (car (script-args)) "small")))
(define n (if small? 400 3000))
(define (say . xs) (for-each display xs) (newline))

;; counters: each closure owns its variable
(define (make-counter start)
  (let ((c start))
    (lambda () (set! c (+ c 1)) c)))
(define counters (map make-counter (iota 10)))
(do ((i 0 (+ i 1))) ((= i n)) (for-each (lambda (c) (c)) counters))
(say "counters: " (map (lambda (c) (c)) counters))

;; adders in a vector, rebuilt many times (garbage) while the vector lives
(define adders (make-vector 16 #f))
(do ((round 0 (+ round 1))) ((= round (quotient n 10)))
  (do ((i 0 (+ i 1))) ((= i 16))
    (vector-set! adders i (let ((k (+ i round))) (lambda (x) (+ x k))))))
(say "adders: " (map (lambda (i) ((vector-ref adders i) 1000)) (iota 16)))

;; composition: a chain of n closures, each capturing the previous
(define (compose f g) (lambda (x) (f (g x))))
(define inc-chain (fold-left (lambda (f i) (compose f (lambda (x) (+ x 1)))) (lambda (x) x) (iota n)))
(say "compose chain of " n ": " (inc-chain 0))

;; Church numerals
(define zero (lambda (f) (lambda (x) x)))
(define (succ m) (lambda (f) (lambda (x) (f ((m f) x)))))
(define (add m k) (lambda (f) (lambda (x) ((m f) ((k f) x)))))
(define (mul m k) (lambda (f) (m (k f))))
(define (church->int m) ((m (lambda (x) (+ x 1))) 0))
(define (int->church i) (if (= i 0) zero (succ (int->church (- i 1)))))
(define c7 (int->church 7))
(define c6 (int->church 6))
(say "church: 7+6=" (church->int (add c7 c6)) " 7*6=" (church->int (mul c7 c6)))

;; continuation-passing style: a non-tail sum in tail calls, its
;; continuation a chain of n closures on the heap
(define (sum-cps l k)
  (if (null? l) (k 0) (sum-cps (cdr l) (lambda (s) (k (+ s (car l)))))))
(say "cps sum: " (sum-cps (iota n) (lambda (s) s)))

;; memoization in a closed-over table
(define (memoize f)
  (let ((table '()))
    (lambda (x)
      (let ((hit (assv x table)))
        (if hit (cdr hit)
            (let ((v (f x))) (set! table (cons (cons x v) table)) v))))))
(define slow-fib (lambda (k) (if (< k 2) k (+ (fib (- k 1)) (fib (- k 2))))))
(define fib (memoize slow-fib))
(say "memo fib 60: " (fib 60))

;; closures capturing loop variables of a named let
(define thunks
  (let loop ((i 0) (acc '()))
    (if (= i 5) (reverse acc) (loop (+ i 1) (cons (lambda () (* i 100)) acc)))))
(gc)
(say "captured: " (map (lambda (t) (t)) thunks))
(say "counters after gc: " (map (lambda (c) (c)) counters))
(say "collections happened: " (> (gc-count) 2))
