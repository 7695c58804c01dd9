;; binary-trees.scm — the Computer Language Benchmarks Game program: many
;; short-lived trees, one long-lived one. Depth 10 (6 with "small").
(define small? (and (pair? (script-args)) (equal? (car (script-args)) "small")))
(define max-depth (if small? 7 10))
(define min-depth 4)

(define (make-tree d)
  (if (= d 0)
      (cons '() '())
      (cons (make-tree (- d 1)) (make-tree (- d 1)))))

(define (check t)
  (if (null? (car t))
      1
      (+ 1 (check (car t)) (check (cdr t)))))

(define (say . xs) (for-each display xs) (newline))

(let ((stretch (+ max-depth 1)))
  (say "stretch tree of depth " stretch "\t check: " (check (make-tree stretch))))

(define long-lived (make-tree max-depth))

(let loop ((d min-depth))
  (when (<= d max-depth)
    (let ((iterations (expt 2 (+ (- max-depth d) min-depth))))
      (let inner ((i 0) (sum 0))
        (if (< i iterations)
            (inner (+ i 1) (+ sum (check (make-tree d))))
            (say iterations "\t trees of depth " d "\t check: " sum))))
    (loop (+ d 2))))

(say "long lived tree of depth " max-depth "\t check: " (check long-lived))
(say "collections happened: " (> (gc-count) 2))
