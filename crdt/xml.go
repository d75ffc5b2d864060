package crdt

// XmlFragment is a shared list of XML nodes (Y.XmlFragment).
type XmlFragment struct{ b *branch }

// XmlElement is a shared XML element with attributes and children.
type XmlElement struct{ b *branch }

// XmlText is shared rich text inside XML (Y.XmlText).
type XmlText struct{ b *branch }

// XmlHook is a shared map that an editor renders specially (Y.XmlHook).
type XmlHook struct{ b *branch }

func (x *XmlFragment) String() string { return "" }
func (x *XmlElement) String() string  { return "" }
func (x *XmlText) String() string     { return textString(x.b) }
