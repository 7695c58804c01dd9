;; compartments/bob.scm — part two: bob, in a compartment of his own.
(define (say . xs) (for-each display xs) (newline))
(say "[" (compartment-name) "] starting")

(define s (import 'secret))
(say "[" (compartment-name) "] imported: " s ", sealed? " (sealed? s))

;; a sealed reference can be stored, copied and compared like any value
(define keep (list s (vector s) (cons 'box s)))
(say "[" (compartment-name) "] stored in a list, a vector, a pair: " (eq? (car keep) (vector-ref (cadr keep) 0)))
(do ((i 0 (+ i 1))) ((= i 2000)) (make-vector 20 i))
(gc)
(collect-all)
(say "[" (compartment-name) "] still sealed after collections: " (sealed? (car keep)))

;; but bob cannot open it ...
(unseal s)
(say "[" (compartment-name) "] unseal refused")
;; ... nor use it as an object ...
(sealed-ref s)
(say "[" (compartment-name) "] direct use refused")
;; ... and a host that hands him alice's object unsealed is refused too
(import-unsealed 'config)
(say "[" (compartment-name) "] unsealed crossing refused")
(car s)
(say "[" (compartment-name) "] car of a sealed value refused")

;; bob hands alice's value back, and exports one of his own
(export 'returned (vector-ref (cadr keep) 0))
(export 'bob-data (list 'from 'bob))
(say "[" (compartment-name) "] exported returned and bob-data")
