;; finalizers.scm — (register-finalizer! obj thunk): the thunk runs after
;; a collection finds obj unreachable, once. The thunks record what they
;; finalize; the record is printed (sorted) after explicit collections,
;; so the output does not depend on when automatic collections ran.
(define small? (and (pair? (script-args)) (equal? (car (script-args)) "small")))
(define n (if small? 10 50))
(define (say . xs) (for-each display xs) (newline))

(define finalized '())
;; the thunk is made here, outside the scope of the object: a thunk that
;; referred to its object would keep it alive
(define (note id) (lambda () (set! finalized (cons id finalized))))
(define (make-resource id)
  (let ((r (vector 'resource id (make-string 100 #\r))))
    (register-finalizer! r (note id))
    r))

(define (sort-numbers l)
  (define (insert x s) (if (or (null? s) (< x (car s))) (cons x s) (cons (car s) (insert x (cdr s)))))
  (fold-left (lambda (s x) (insert x s)) '() l))

;; n resources; the even ones are kept
(define kept
  (let loop ((i 0) (acc '()))
    (if (= i n) acc
        (let ((r (make-resource i)))
          (loop (+ i 1) (if (even? i) (cons r acc) acc))))))
(say "finalized before the explicit gc: at most the odd ones: " (null? (filter even? finalized)))
(gc)
(gc)
(define odd-ones (sort-numbers finalized))
(say "after gc, finalized: " odd-ones)
(say "all odd, none kept: " (and (= (length odd-ones) (quotient n 2)) (null? (filter even? odd-ones))))
(say "kept ones intact: " (map (lambda (r) (vector-ref r 1)) (list (car kept) (cadr kept) (caddr kept))))

;; drop the kept ones: each is finalized exactly once
(set! finalized '())
(set! kept #f)
(gc)
(gc)
(define even-ones (sort-numbers finalized))
(say "after dropping the rest: " even-ones)
(set! finalized '())
(gc)
(say "nothing is finalized twice: " (null? finalized))

;; finalizer thunks that allocate (strings, a list) as they run
(define log '())
(define (closer id) (lambda () (set! log (cons (string-append "closed " (number->string id)) log))))
(define (open-file id)
  (let ((handle (list 'file id)))
    (register-finalizer! handle (closer id))
    'opened))
(open-file 1)
(open-file 2)
(gc)
(say "log: " (if (string<? (car log) (cadr log)) log (reverse log)))
