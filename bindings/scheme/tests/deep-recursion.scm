;; deep-recursion.scm — non-tail recursion 100000 deep (the value stack,
;; a CapGC root region, grows from 4096 slots as it goes, with collections
;; in the middle of it), and a tail-recursive loop of 1e6 iterations that
;; runs in constant space. "small": 5000 deep, 20000 iterations.
(define small? (and (pair? (script-args)) (equal? (car (script-args)) "small")))
(define deep (if small? 5000 100000))
(define iterations (if small? 20000 1000000))
(define (say . xs) (for-each display xs) (newline))

;; non-tail: every level waits for the one below
(define (count-up n) (if (= n 0) 0 (+ 1 (count-up (- n 1)))))
(say "count-up " deep ": " (count-up deep))

;; non-tail, allocating on the way back: a list built by plain recursion
(define (build n) (if (= n 0) '() (cons n (build (- n 1)))))
(define (my-map f l) (if (null? l) '() (cons (f (car l)) (my-map f (cdr l)))))
(define big (build deep))
(define doubled (my-map (lambda (x) (* 2 x)) big))
(say "built " (length big) ", mapped sum " (fold-left + 0 doubled))

;; non-tail with a collection at the bottom: every frame above survives it
(define (sum-with-gc-at-bottom n)
  (if (= n 0) (begin (gc) 0) (+ n (sum-with-gc-at-bottom (- n 1)))))
(say "sum with a gc " deep " frames down: " (sum-with-gc-at-bottom deep))

;; mutual recursion, non-tail
(define (ping n) (if (= n 0) '() (cons 'ping (pong (- n 1)))))
(define (pong n) (if (= n 0) '() (cons 'pong (ping (- n 1)))))
(say "ping-pong length: " (length (ping deep)))

;; a tail-recursive loop: the deepest stack seen over 1e6 iterations is
;; the deepest seen over 10 (constant space)
(define (loop i n deepest)
  (if (= i n)
      deepest
      (loop (+ i 1) n (max deepest (stack-depth)))))
(define over-10 (loop 0 10 0))
(define over-all (loop 0 iterations 0))
(say "tail loop of " iterations " iterations, constant stack: " (= over-10 over-all))

;; the same with a named let, cond and a mutual pair of tail calls
(define (even-odd n)
  (define (ev? k) (if (= k 0) #t (od? (- k 1))))
  (define (od? k) (if (= k 0) #f (ev? (- k 1))))
  (ev? n))
(say "even? " deep ": " (even-odd deep))
(say "stack after all of it: " (stack-depth))
(say "collections happened: " (> (gc-count) 2))
