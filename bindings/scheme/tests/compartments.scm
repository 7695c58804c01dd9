;; compartments.scm — part one of three (see compartments.args): alice,
;; bob and alice again, each file in its own compartment of one split
;; heap. Alice exports values to bob as sealed references; bob can keep
;; and pass them but not open them; handing bob alice's object unsealed
;; is refused by CapGC. Then alice gets her value back and opens it.
(define (say . xs) (for-each display xs) (newline))
(say "[" (compartment-name) "] part one")

(define secret (list 'alice-secret 42 (make-string 3 #\s)))
(define config (vector 'threshold 10))
(export 'secret secret)
(export 'config config)
(say "[" (compartment-name) "] exported secret and config")

;; lots of garbage here: alice's collections do not touch bob's heap
(do ((i 0 (+ i 1))) ((= i 2000)) (make-vector 20 i))
(gc)
(say "[" (compartment-name) "] secret after collecting: " secret)
