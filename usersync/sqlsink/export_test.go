package sqlsink

// SetNoCopy makes Put on PostgreSQL use multi-row INSERTs instead of COPY.
func (s *Sink) SetNoCopy(on bool) { s.noCopy = on }
