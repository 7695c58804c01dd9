;; basics.scm — the language subset, form by form.
(define (show . xs) (for-each display xs) (newline))

;; define, lambda, if, set!, begin
(define x 10)
(define (add1 n) (+ n 1))
(set! x (add1 x))
(show "x = " x)
(show "begin: " (begin 1 2 3))
(show "if: " (if (> x 5) 'big 'small) " " (if #f #f))

;; let, let*, letrec, named let, do
(show "let: " (let ((a 1) (b 2)) (+ a b)))
(show "let*: " (let* ((a 1) (b (+ a 1)) (c (* b 3))) (list a b c)))
(show "letrec: " (letrec ((even? (lambda (n) (if (= n 0) #t (odd? (- n 1)))))
                          (odd? (lambda (n) (if (= n 0) #f (even? (- n 1))))))
                   (list (even? 100) (odd? 7))))
(show "named let: " (let loop ((i 0) (acc '())) (if (= i 5) (reverse acc) (loop (+ i 1) (cons (* i i) acc)))))
(show "do: " (do ((i 0 (+ i 1)) (s 0 (+ s i))) ((= i 5) s)))

;; cond, case, and, or, when, unless
(define (classify n)
  (cond ((< n 0) 'negative)
        ((= n 0) 'zero)
        ((assv n '((1 . one) (2 . two))) => cdr)
        (else 'many)))
(show "cond: " (map classify '(-5 0 1 2 3)))
(show "case: " (map (lambda (c) (case c ((#\a #\e #\i #\o #\u) 'vowel) ((#\space) 'space) (else 'other)))
                    (string->list "hi you")))
(show "and/or: " (list (and) (or) (and 1 2 3) (or #f 2) (and 1 #f 3) (or #f #f)))
(when (> x 0) (show "when: yes"))
(unless (> x 0) (show "unless: no"))

;; internal defines, closures over them, rest arguments, apply
(define (f a . rest)
  (define n (length rest))
  (define (scale y) (* y n))
  (map scale (cons a rest)))
(show "rest: " (f 1 2 3))
(show "apply: " (apply + 1 2 '(3 4 5)) " " (apply max '(3 9 2)))
(show "variadic lambda: " ((lambda args args) 1 2 3))

;; quasiquote
(define y 5)
(write `(y ,y ,@(list 1 2) (nested ,(* y 2)) #(v ,y))) (newline)

;; numbers
(show "arith: " (list (+ 1 2) (- 10 4) (* 3 4) (/ 12 4) (/ 1 4) (quotient 17 5) (remainder -17 5) (modulo -17 5)))
(show "compare: " (list (< 1 2 3) (< 1 3 2) (= 2 2 2) (>= 3 3 1) (max 1 7 3) (min 4 2 8)))
(show "flonum: " (list 1.5 (+ 0.5 0.25) (sqrt 16) (sqrt 2.25) (exact->inexact 1) (round 2.5) (floor -1.5)))
(show "big: " (* 4611686018427387 1000) " " (expt 2 10) " " (abs -42))
(show "numbers: " (number->string 255 16) " " (string->number "42") " " (string->number "nope"))
(show "gcd/lcm: " (gcd 12 18) " " (lcm 4 6))

;; equality
(show "eq?: " (list (eq? 'a 'a) (eq? '() '()) (eq? "a" "a") (equal? "a" "a") (equal? '(1 (2 #(3))) '(1 (2 #(3))))
                    (eqv? 1.5 1.5) (let ((p (cons 1 2))) (eq? p p))))

;; lists
(define l (list 3 1 4 1 5 9 2 6))
(show "lists: " (length l) " " (reverse l) " " (list-ref l 2) " " (list-tail l 5))
(show "append: " (append '(1 2) '(3) '() '(4 5)) " " (append))
(show "memq/assq: " (memq 'c '(a b c d)) " " (member "b" '("a" "b")) " " (assq 'b '((a 1) (b 2))))
(show "filter/fold: " (filter odd? l) " " (fold-left + 0 l) " " (fold-right cons '() '(1 2 3)) " " (reduce max 0 l))
(show "map2: " (map + '(1 2 3) '(10 20 30)) " " (iota 5) " " (iota 3 1))
(define p (cons 1 2))
(set-car! p 'a) (set-cdr! p '(b))
(show "set-car!: " p " " (cadr '(1 2 3)) " " (cddr '(1 2 3)) " " (caddr '(1 2 3)))

;; vectors, strings, characters, symbols
(define v (make-vector 3 0))
(vector-set! v 0 'a)
(show "vector: " v " " (vector-length v) " " (vector->list #(1 2)) " " (list->vector '(x y)) " " (vector-map add1 #(1 2 3)))
(define s (make-string 3 #\x))
(string-set! s 1 #\y)
(show "string: " s " " (string-length "hello") " " (substring "hello" 1 3) " " (string-append "a" "b" "c"))
(show "string ops: " (string=? "ab" "ab") " " (string<? "ab" "b") " " (string->symbol "sym") " " (symbol->string 'abc))
(write (list #\a #\space (string #\a #\b) (list->string (list #\c #\d)) (string-ref "xyz" 2) "q\"uote\n"))
(newline)
(show "chars: " (char->integer #\A) " " (integer->char 97) " " (char-upcase #\a) " " (char-alphabetic? #\1))
(show "join: " (string-join '("a" "b" "c") ", "))

;; predicates
(show "preds: " (map (lambda (x) (list (pair? x) (null? x) (symbol? x) (string? x) (vector? x) (procedure? x) (number? x)))
                     (list '(1) '() 'a "s" #(1) car 1)))
(show "done")
