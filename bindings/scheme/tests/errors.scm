;; errors.scm — errors unwind to the top level, are reported on stderr
;; (errors.err), and the next top-level form runs: the VM (its stacks, its
;; globals, the heap) is intact afterwards. The script exits 1 at the end.
;; Run with --stack 100000 --heap-limit 16M (errors.args).
(define (say . xs) (for-each display xs) (newline))
(define counter 0)
(define (bump!) (set! counter (+ counter 1)) counter)
(say "start")

(car 5)                                   ; a primitive's type error
(say "1: after car, counter " (bump!))
(undefined-procedure 1 2)                 ; an unbound variable
(say "2: after unbound, counter " (bump!))
((lambda (x) x) 1 2)                      ; arity
(say "3: after arity, counter " (bump!))
(error "custom failure:" 'irritant 42 "str")  ; (error ...)
(say "4: after error, counter " (bump!))
(vector-ref (vector 1 2 3) 3)             ; index out of range
(say "5: after vector-ref, counter " (bump!))
(+ 1 "two")                               ; not a number
(5 3)                                     ; not a procedure
(quotient 1 0)                            ; division by zero
(set! never-defined 1)                    ; set! of an unbound variable
(if)                                      ; bad syntax: the compiler's error
(say "6: after five more, counter " (bump!))

;; an error deep inside a non-tail recursion: 20000 frames unwind at once
(define (dive n) (if (= n 0) (car '()) (+ 1 (dive (- n 1)))))
(dive 20000)
(say "7: after a deep error, counter " (bump!))

;; runaway recursion: the value stack grows to its limit, then a clean error
(define (runaway n) (+ 1 (runaway (+ n 1))))
(runaway 0)
(say "8: after stack overflow, counter " (bump!))

;; the heap limit: CAPGC_E_OUT_OF_MEMORY, and the heap stays usable once the
;; structure (a local of the failed computation) is garbage
(define (hog l n) (hog (cons (make-vector 200 n) l) (+ n 1)))
(hog '() 0)
(gc)
(say "9: after out of memory, counter " (bump!) ", a fresh list of " (length (iota 10000)))

;; a failed define leaves the global as it was
(define kept 'old)
(define kept (car 'not-a-pair))
(say "10: kept is still " kept)

;; an error in a finalizer thunk is reported when it runs; the rest go on
(define (bad-closer) (lambda () (vector-ref (vector) 0)))
(let ((x (list 'doomed))) (register-finalizer! x (bad-closer)) 'ok)
(gc)
(say "11: after a failing finalizer, counter " (bump!))

;; everything still works
(define (fib n) (if (< n 2) n (+ (fib (- n 1)) (fib (- n 2)))))
(say "fib 20 = " (fib 20) ", map " (map (lambda (x) (* x x)) '(1 2 3)) ", heap verifier violations: " (verify-heap))
(say "end, counter " counter)
