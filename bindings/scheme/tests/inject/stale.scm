;; inject/stale.scm — run on the fault-injection build (make inject): its
;; string-append holds its arguments' references in C locals across the
;; allocation of the result. Each round allocates mostly through
;; string-append, so a collection soon happens inside it; SoftCheri must
;; then refuse the stale reference (CAPGC_E_STALE), not read freed or
;; moved memory. On the correct build this prints the checksum and exits 0.
(define piece (make-string 1000 #\x))
(define (grow s n)
  (if (= n 0)
      (string-length s)
      (grow (string-append piece (substring s 0 1000) piece) (- n 1))))
(define (rounds k acc)
  (if (= k 0) acc (rounds (- k 1) (+ acc (grow piece 50)))))
(display (rounds 200 0))
(newline)
