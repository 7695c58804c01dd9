;; gcbench.scm — after Ellis, Kovac and Boehm's GCBench: trees built top
;; down (by mutation) and bottom up, a long-lived tree and a long-lived
;; array of flonums that must survive every collection intact.
(define small? (and (pair? (script-args)) (equal? (car (script-args)) "small")))
(define stretch-depth (if small? 8 12))
(define long-lived-depth (if small? 6 10))
(define array-size (if small? 1000 10000))
(define min-depth 4)
(define max-depth (if small? 6 10))

;; a node: #(left right i j)
(define (make-node l r) (vector l r 0 0))
(define (left n) (vector-ref n 0))
(define (right n) (vector-ref n 1))

(define (tree-size d) (- (expt 2 (+ d 1)) 1))

;; top down: fill the children of an existing node
(define (populate! d node)
  (when (> d 0)
    (vector-set! node 0 (make-node '() '()))
    (vector-set! node 1 (make-node '() '()))
    (populate! (- d 1) (left node))
    (populate! (- d 1) (right node))))

;; bottom up
(define (make-tree d)
  (if (<= d 0)
      (make-node '() '())
      (make-node (make-tree (- d 1)) (make-tree (- d 1)))))

(define (count n)
  (if (null? n) 0 (+ 1 (count (left n)) (count (right n)))))

(define (say . xs) (for-each display xs) (newline))

(define (num-iters d) (* 2 (quotient (tree-size stretch-depth) (tree-size d))))

(define (time-construction d)
  (let ((iters (num-iters d)))
    (let loop ((i 0) (ok #t))
      (if (< i iters)
          (let ((t (make-node '() '())))
            (populate! d t)
            (loop (+ i 1) (and ok (= (count t) (tree-size d)))))
          (say "top down, depth " d ", " iters " trees: " (if ok "ok" "WRONG"))))
    (let loop ((i 0) (ok #t))
      (if (< i iters)
          (loop (+ i 1) (and ok (= (count (make-tree d)) (tree-size d))))
          (say "bottom up, depth " d ", " iters " trees: " (if ok "ok" "WRONG"))))))

(say "stretch tree of depth " stretch-depth ": " (count (make-tree stretch-depth)) " nodes")

(define long-lived (make-node '() '()))
(populate! long-lived-depth long-lived)

(define array (make-vector array-size 0.0))
(do ((i 0 (+ i 1))) ((= i (quotient array-size 2)))
  (vector-set! array i (/ 1.0 (+ i 1))))

(do ((d min-depth (+ d 2))) ((> d max-depth))
  (time-construction d))

(say "long-lived tree: " (count long-lived) " nodes, expected " (tree-size long-lived-depth))
(say "last filled array element: " (vector-ref array (- (quotient array-size 2) 1)))
(let loop ((i 0) (ok #t))
  (if (< i (quotient array-size 2))
      (loop (+ i 1) (and ok (= (vector-ref array i) (/ 1.0 (+ i 1)))))
      (say "array intact: " ok)))
(say "collections happened: " (> (gc-count) 2))
