; repl.scm — fed to `scheme` on stdin (repl.stdin): the REPL writes each
; form's value, reports errors on stderr and reads on.
(+ 1 2)
"a string"
'(a list "with" #\c)
(define (square x)
  (* x
     x))
(square 12)
(car '())
(square 13) (square 14)
#(1 2
  3)
(undefined-thing)
(let loop ((i 0) (acc '()))
  (if (= i 5)
      (reverse acc)
      (loop (+ i 1) (cons i acc))))
(gc)
(display "displayed, not written")
(newline)
(if #f #f)
(define x 5) x
